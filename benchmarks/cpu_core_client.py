"""CPU per CAQH CORE call of `connectors.core.client.CoreClient`, in the client process only.

``python -m benchmarks.cpu_core_client`` starts the payer simulator in its own process (its CPU
is not counted), writes ``--calls`` 270s in advance, then sends them with one `CoreClient` over
loopback: once one at a time, once ``--in-flight`` at a time. It prints this process's CPU
(``time.process_time``: every thread) and wall time per call for each run, after ``--warmup``
calls that open the connections. Figures are printed, never checked.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from benchmarks.bench_eligibility import eligibility_body, simulated_partner


def _x12s(partner: object, start: int, n: int) -> list[str]:
    from edi.mappers.eligibility import request_to_270
    from edi.models.eligibility import EligibilityRequest
    from edi.partners import ControlNumbers

    return [
        request_to_270(EligibilityRequest.model_validate(eligibility_body(i)),
                       partner.envelope(ControlNumbers(1 + i, 1 + i, 1)))  # type: ignore[attr-defined]
        for i in range(start, start + n)
    ]


async def _drive(partner: object, warmup: list[str], runs: dict[str, tuple[int, list[str]]]
                 ) -> dict[str, tuple[float, float]]:
    from connectors.core.client import CoreClient
    from edi.resilience import CircuitBreakers

    figures: dict[str, tuple[float, float]] = {}
    async with CoreClient(partner, breakers=CircuitBreakers(), environ={}) as client:  # type: ignore[arg-type]

        async def batch(x12s: list[str], in_flight: int) -> None:
            gate = asyncio.Semaphore(in_flight)

            async def one(x12: str) -> None:
                async with gate:
                    result = await client.send_270(x12)
                if result.payload_type != "X12_271_Response_005010X279A1":
                    raise SystemExit(f"the simulator answered {result.payload_type}")

            await asyncio.gather(*(one(x12) for x12 in x12s))

        await batch(warmup, 16)
        for name, (in_flight, x12s) in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            await batch(x12s, in_flight)
            figures[name] = (time.process_time() - cpu, time.perf_counter() - wall)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()

    from edi.partners import load_partners

    with simulated_partner("cpu-core-") as (_work, partners, _api_key):
        partner = load_partners(partners).partner("simplan")
        warmup = _x12s(partner, 0, args.warmup)
        runs = {
            "sequential": (1, _x12s(partner, args.warmup, args.calls)),
            f"{args.in_flight} in flight": (args.in_flight, _x12s(partner, args.warmup + args.calls, args.calls)),
        }
        figures = asyncio.run(_drive(partner, warmup, runs))
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, (cpu, wall) in figures.items():
        print(f"{name:>14}: cpu {cpu / args.calls * 1000:.3f} ms/call, wall {wall / args.calls * 1000:.3f} ms/call"
              f" ({args.calls} calls)")


if __name__ == "__main__":
    main()
