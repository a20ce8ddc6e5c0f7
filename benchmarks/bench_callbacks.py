"""CPU per callback: what one signed webhook POST costs the sender and the receiver.

The claims pipeline sends three callbacks per claim (999, 277CA, 835), so this bounds what the
delivery stage can do on a given machine: with ``s`` ms of sender CPU and ``r`` ms of receiver
CPU per POST, two cores deliver at most ``2000 / (3 * (s + r))`` claims per second when they
do nothing else. Measured as process CPU time (not wall time), so other load on the machine
inflates it less than it inflates timings, though cache and scheduler effects still show.

What runs
    * ``connectors.delivery.receiver`` in a child process (as ``bench_pipeline`` runs it),
      verifying every signature with the ``standardwebhooks`` library;
    * ``WebhookSender.send_once`` in this process, ``MAX_CONNECTIONS`` POSTs in flight, as the
      delivery stage sends a group's callbacks, on the loop the delivery stage runs them on
      (``connectors.loop.new_event_loop``: uvloop where installed; ``--asyncio`` for asyncio's).

``--by-name`` addresses the receiver as ``localhost`` instead of ``127.0.0.1``, so each POST
also goes through the sender's resolver, as a callback to a host name does.

Usage
    python -m benchmarks.bench_callbacks [--posts 2000] [--connections 16] [--by-name] [--asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

from benchmarks.bench_pipeline import RECEIVER_CHILD, _free_port
from connectors.delivery import webhooks
from connectors.loop import new_event_loop
from edi.delivery import AttemptOutcome, CallbackConfig, Delivery


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``)."""
    from tests.servers.proc import cpu_of

    return cpu_of(pid).cpu


async def _send(posts: int, connections: int, config: CallbackConfig, body: bytes,
                receiver_pid: int) -> tuple[int, float, float, float]:
    sender = webhooks.WebhookSender()
    gate = asyncio.Semaphore(connections)

    async def one(number: int) -> bool:
        async with gate:
            attempt = await sender.send_once(Delivery(f"msg_bench{number}", config.submitter_id, body), config)
        return attempt.outcome is AttemptOutcome.DELIVERED

    await asyncio.gather(*(one(n) for n in range(connections * 2)))  # connections opened, code warm
    receiver_before, sender_before, wall_before = _cpu_seconds(receiver_pid), time.process_time(), time.monotonic()
    delivered = sum(await asyncio.gather(*(one(n) for n in range(connections * 2, connections * 2 + posts))))
    wall = time.monotonic() - wall_before
    sender_cpu, receiver_cpu = time.process_time() - sender_before, _cpu_seconds(receiver_pid) - receiver_before
    await sender.aclose()
    return delivered, wall, sender_cpu, receiver_cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_callbacks", description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=webhooks.MAX_CONNECTIONS)
    parser.add_argument("--asyncio", action="store_true", help="asyncio's event loop instead of uvloop")
    parser.add_argument("--by-name", action="store_true", help="call the receiver as localhost (resolved)")
    args = parser.parse_args(argv)
    secret = webhooks.new_secret()
    port = _free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER_CHILD, secret, str(port)], stdout=subprocess.PIPE,
                                text=True)
    try:
        url = receiver.stdout.readline().strip() if receiver.stdout else ""
        if not url:
            raise SystemExit("the callback receiver did not start")
        if args.by_name:
            url = url.replace("://127.0.0.1:", "://localhost:")
        config = CallbackConfig("bench", url=url, secret=secret, http_hosts=("127.0.0.1", "localhost"),
                                allowed_networks=("127.0.0.0/8", "::1/128"))
        body = json.dumps({"type": "claim.payment", "timestamp": "2026-12-03T00:00:00+00:00", "data": {
            "transactionId": "0" * 26, "kind": "claim", "documentType": "835", "status": "paid", "final": True,
            "patientControlNumber": "BENCH-1", "response": {"lines": [{"n": n, "paid": "10.00"} for n in range(10)]},
        }}).encode()
        with asyncio.Runner(loop_factory=asyncio.new_event_loop if args.asyncio else new_event_loop) as runner:
            delivered, wall, sender_cpu, receiver_cpu = runner.run(
                _send(args.posts, args.connections, config, body, receiver.pid))
    finally:
        receiver.terminate()
        receiver.wait(10)
    per_post = 1000 * (sender_cpu + receiver_cpu) / args.posts
    print(f"{delivered:,} of {args.posts:,} POSTs delivered in {wall:.1f}s ({args.posts / wall:,.0f}/s wall), "
          f"{args.connections} in flight; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"sender   {1000 * sender_cpu / args.posts:7.3f} ms CPU per POST")
    print(f"receiver {1000 * receiver_cpu / args.posts:7.3f} ms CPU per POST")
    print(f"ceiling from callbacks alone (3 per claim, {os.cpu_count()} cores doing nothing else): "
          f"{(os.cpu_count() or 1) * 1000 / (3 * per_post):,.0f} claims/s")
    return 0 if delivered == args.posts else 1


if __name__ == "__main__":
    sys.exit(main())
