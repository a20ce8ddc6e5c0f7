"""CPU per real-time eligibility request, one request at a time, in process.

``python -m benchmarks.cpu_eligibility`` starts the payer simulator in its own process, opens the
API over a fresh SQLite store in this one (``httpx.ASGITransport``: no sockets, no uvicorn) and
sends ``--requests`` sequential ``POST /eligibility`` after ``--warmup`` ones. It prints the
process CPU (all threads: event loop, store threads, the test client) per request, which a
shared machine's load changes far less than wall time, and the database statements per request.

``--profile FILE`` samples this process with py-spy (all threads, idle time left out) while the
measured requests run and writes a top-functions summary there. Figures are printed, never checked.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from benchmarks.bench_eligibility import eligibility_body, simulated_partner, summarize


def _statements(engine: Any) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split(None, 3)
        counts[" ".join(words[:3] if words[0].upper() == "INSERT" else words[:1]).upper()] += 1

    return counts


async def _run(client: httpx.AsyncClient, start: int, n: int) -> None:
    for i in range(start, start + n):
        answer = await client.post("/eligibility", json=eligibility_body(i))
        if answer.status_code != 200 or answer.json().get("type") is None:
            raise SystemExit(f"request {i}: HTTP {answer.status_code} {answer.text[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="py-spy summary of the measured requests")
    args = parser.parse_args()

    from connectors.api.app import create_app
    from connectors.pipeline.runtime import open_pipeline
    from edi.keys import KeyRing, generate_key
    from edi.settings import Settings

    with simulated_partner("cpu-elig-") as (work, partners, api_key):
        data = work / "data"
        data.mkdir()
        KeyRing({"k1": base64.b64decode(generate_key())}, "k1").save(data / "master.keys")
        settings = Settings.from_env({"EDI_DATA_DIR": str(data), "EDI_PARTNERS_FILE": str(partners)})
        pipeline = open_pipeline(settings)
        app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline)
        counts = _statements(pipeline.repository.engine)

        async def drive() -> tuple[float, float]:
            transport = httpx.ASGITransport(app=app)  # runs no lifespan: entered here (it closes CORE clients)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=transport, base_url="http://api", headers={"Authorization": f"Bearer {api_key}"},
                    timeout=60) as client:
                await _run(client, 0, args.warmup)
                counts.clear()
                spy = _spy(args.profile)
                cpu, wall = time.process_time(), time.perf_counter()
                await _run(client, args.warmup, args.requests)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                _stop_spy(spy, args.profile)
                return cpu, wall

        cpu, wall = asyncio.run(drive())
        n = args.requests
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"cpu {cpu / n * 1000:.1f} ms/request, wall {wall / n * 1000:.1f} ms/request ({n} requests)")
        print("statements/request: " + ", ".join(f"{k} {v / n:g}" for k, v in sorted(counts.items())))
        pipeline.repository.engine.dispose()


def _spy(out: Path | None) -> subprocess.Popen[bytes] | None:
    if out is None:
        return None
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy")
    raw = out.with_suffix(".collapsed")
    proc = subprocess.Popen([spy, "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "500",
                             "--threads", "--gil", "--output", str(raw), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc


def _stop_spy(proc: subprocess.Popen[bytes] | None, out: Path | None) -> None:
    if proc is None or out is None:
        return
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    raw = out.with_suffix(".collapsed")
    if raw.exists():
        out.write_text(summarize(raw, top=80))


if __name__ == "__main__":
    main()
