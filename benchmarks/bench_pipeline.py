"""End-to-end claims benchmark: sustained claims per second on RabbitMQ and PostgreSQL.

What runs (all on loopback, all private to this run, all on this machine's cores)
    * a private PostgreSQL cluster and a private RabbitMQ node (``tests/servers``);
    * the payer simulator (``EmbeddedPayerSim``: SFTP mailbox answering each 837 with a 999 and a
      277CA, then an 835 after ``--payment-delay`` seconds), in this process;
    * a real callback receiver (``connectors.delivery.receiver``) in a child process of its own,
      verifying every Standard Webhooks signature;
    * the sample partner configuration (``write_sample_config``);
    * ``--workers`` (default 2) ``python -m edi worker`` processes on RabbitMQ + PostgreSQL.

What is measured
    N claims (``--claims``, default 10,000) are submitted through one door -- ``intake`` (the
    service layer's bulk ``accept_many``, as a file or queue door calls it) or ``api``
    (``POST /claims`` with arrays of ``--chunk`` claims to the API served in this process) --
    while the workers run. The clock starts at the first submission and stops when every claim
    is terminal; a claim is ``delivered`` only after its final callback (the 835) went through,
    and afterwards the receiver's log must hold a verified 999, 277CA and 835 callback for every
    claim. Printed: overall claims/s (N / total time) and sustained claims/s (between the 10%
    and the 90% completed marks, from the ``delivered`` events' times).

The peer, measured in the same run
    pyx12 validating one 837P holding the same claims (``--pyx12-max`` of them), in a child
    process: the floor of any hand-rolled pyx12 pipeline, which must at least validate what it
    sends. Printed as claims/s and as the ratio ours / pyx12. Timings are printed, never checked.

Usage
    python -m benchmarks.bench_pipeline [--claims 10000] [--door intake|api] [--workers 2]
        [--prefetch 200] [--payment-delay 1] [--pyx12-max 2000] [--profile DIR] [--keep DIR]

``--profile DIR`` runs each worker thread under cProfile and writes ``DIR/<pid>-<thread>.prof``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "payer_sim"
TERMINAL = ("delivered", "failed", "rejected")
CALLBACK_TYPES = frozenset({"functional.acknowledgment", "claim.acknowledgment", "claim.payment"})

# The callback receiver in a child process (its own interpreter, so it does not share a GIL with
# the payer simulator or the intake in this one).
RECEIVER_CHILD = r"""
import signal, sys, threading
from connectors.delivery.receiver import CallbackReceiver
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
with CallbackReceiver(sys.argv[1], port=int(sys.argv[2])) as receiver:
    print(receiver.url, flush=True)
    stop.wait()
"""

# A worker under cProfile: every thread's run() is profiled and dumped when the thread ends. The
# timer is the thread's CPU time, so a profile's total is what that thread cost (waiting for the
# broker, the database or the GIL counts nothing) and stages compare on a shared, loaded machine.
PROFILED_WORKER = r"""
import cProfile, os, sys, threading, time
directory = sys.argv[1]
original = threading.Thread.run
def run(self):
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        original(self)
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(directory, f"{os.getpid()}-{self.name}.prof"))
threading.Thread.run = run
sys.argv = ["edi", "worker", *sys.argv[2:]]
from edi.cli import main
main()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_claims(count: int) -> list[dict[str, Any]]:
    """``count`` professional claims for the simulator's members, each with its own CLM01."""
    from tests.test_payer_sim_rules import claim

    base = claim("BENCH-0", "SIM00001").to_json()
    base["tradingPartnerServiceId"] = "SIMPLAN01"
    out = []
    for number in range(count):
        data = json.loads(json.dumps(base))
        data["claimInformation"]["patientControlNumber"] = f"BENCH-{number:06d}"
        data["subscriber"]["memberId"] = "SIM00001" if number % 2 else "SIM00002"
        out.append(data)
    return out


def pyx12_peer(claims: list[dict[str, Any]], work: Path) -> tuple[int, float | None, str]:
    """(claims, seconds, verdict) of pyx12 validating one 837P with these claims."""
    from benchmarks.bench_validate import pyx12_peer_verdict
    from edi.checks import REQUEST_MODELS
    from edi.mappers.professional import claims_to_837p
    from edi.partners import ControlNumbers, load_partners

    partners = load_partners(work / "cfg" / "partners.yaml")
    partner = next(iter(partners.partners.values()))
    requests = [REQUEST_MODELS["professional"].model_validate(c) for c in claims]
    text = claims_to_837p(requests, partner.envelope(ControlNumbers(1, 1, 1)), "000000001", max_per_set=5000)
    path = work / "peer.837"
    path.write_text(text, encoding="utf-8")
    seconds, ok = pyx12_peer_verdict(path, work)
    return len(claims), seconds, ok


class Submitter(threading.Thread):
    """Submits the claims through one door in chunks, recording when it started and finished."""

    def __init__(self, door: str, claims: list[dict[str, Any]], chunk: int, pipeline: Any, api: Any) -> None:
        super().__init__(name="submitter", daemon=True)
        self.door, self.claims, self.chunk, self.pipeline, self.api = door, claims, chunk, pipeline, api
        self.started_at = self.finished_at = 0.0
        self.ids: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        from connectors.pipeline.sample import SUBMITTER_ID
        from edi.pipeline import intake

        self.started_at = time.monotonic()
        try:
            for start in range(0, len(self.claims), self.chunk):
                part = self.claims[start : start + self.chunk]
                if self.door == "api":
                    answer = self.api.post("/claims", json=part)
                    if answer.status_code != 202:
                        raise RuntimeError(f"POST /claims answered {answer.status_code}: {answer.text[:300]}")
                    self.ids.extend(item["id"] for item in answer.json()["transactions"])
                else:
                    records = intake.accept_many(self.pipeline, submitter_id=SUBMITTER_ID, items=[
                        intake.Request("professional", data) for data in part
                    ])
                    self.ids.extend(record.id for record, _created in records)
        except BaseException as error:  # reported by the main thread
            self.error = error
        self.finished_at = time.monotonic()


def _state_counts(engine: Any) -> Counter[str]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return Counter(dict(connection.execute(text("select state, count(*) from transactions group by state")).all()))


def _delivered_times(engine: Any) -> list[float]:
    """Epoch seconds of each claim's move to a terminal state, sorted."""
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(text(
            "select at from transaction_events where to_state in ('delivered', 'failed', 'rejected') order by at"
        )).scalars().all()
    return [row.timestamp() for row in rows]


RABBIT_COMMANDS = frozenset({"beam.smp", "erl_child_setup", "epmd", "inet_gethost"})


class CpuSampler:
    """CPU seconds used so far by each part of the run, read from ``/proc``.

    The target is a rate on two cores, so the question after a slow run is which process had them:
    the workers, PostgreSQL, RabbitMQ, the callback receiver, or this process (the payer simulator
    and the intake). Ended processes' time is lost, which is why the groups are of long-lived ones.
    """

    def __init__(self, workers: list[int], receiver: int) -> None:
        self.workers, self.receiver = set(workers), receiver
        self.samples: list[tuple[float, dict[str, float]]] = []

    def _group(self, pid: int, command: str) -> str:
        if pid in self.workers:
            return "workers"
        if pid == self.receiver:
            return "callback receiver"
        if pid == os.getpid():
            return "payer sim + intake (this process)"
        if command == "postgres":
            return "postgresql"
        if command in RABBIT_COMMANDS:
            return "rabbitmq"
        return "other"

    def sample(self) -> None:
        from tests.servers.proc import processes

        totals: Counter[str] = Counter()
        for process in processes():
            totals[self._group(process.pid, process.command)] += process.cpu
        self.samples.append((time.time(), dict(totals)))

    def between(self, start: float, end: float) -> dict[str, float]:
        """Cores used by each group between two epoch times (the nearest samples inside)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {group: (last.get(group, 0.0) - first.get(group, 0.0)) / (t1 - t0) for group in last}


def _check_callbacks(receiver_url: str, claims: int) -> tuple[int, Counter[str], int]:
    """(claims with all three callbacks, callback types seen, duplicates with another webhook-id)."""
    import httpx

    listing = httpx.get(receiver_url.rsplit("/", 1)[0] + "/deliveries", timeout=120).json()
    by_claim: dict[str, set[str]] = {}
    ids_by_body: dict[str, set[str]] = {}
    kinds: Counter[str] = Counter()
    for item in listing:
        body = item["body"]
        kinds[body["type"]] += 1
        by_claim.setdefault(body["data"].get("patientControlNumber", "?"), set()).add(body["type"])
        ids_by_body.setdefault(json.dumps(body, sort_keys=True), set()).add(item["webhookId"])
    complete = sum(1 for types in by_claim.values() if types >= CALLBACK_TYPES)
    mismatched = sum(1 for ids in ids_by_body.values() if len(ids) > 1)
    return complete, kinds, mismatched


def run(args: argparse.Namespace) -> int:
    from connectors.payer_sim.embedded import EmbeddedPayerSim
    from connectors.pipeline.runtime import open_pipeline
    from connectors.pipeline.sample import write_sample_config
    from edi.keys import KeyRing
    from edi.settings import Settings
    from tests.servers.children import stop
    from tests.servers.postgres import start_postgres
    from tests.servers.rabbitmq import start_rabbitmq

    print(f"python {platform.python_version()} | {os.cpu_count()} CPUs | {args.claims:,} claims | door: "
          f"{'direct intake (edi.pipeline.intake.accept_many)' if args.door == 'intake' else 'the API (POST /claims)'}"
          f" | {args.workers} worker processes, prefetch {args.prefetch}", flush=True)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="edi-bench-pipeline-"))
    work.mkdir(parents=True, exist_ok=True)
    claims = make_claims(args.claims)
    with contextlib.ExitStack() as exits:
        pg = exits.enter_context(start_postgres())
        rabbit = exits.enter_context(start_rabbitmq())
        database_url = pg.create_database(f"bench_{os.getpid()}")
        password = "bench-sftp-password"
        sim = EmbeddedPayerSim(FIXTURES / "roster.yaml", FIXTURES / "rules.yaml", work / "mailbox",
                               sftp_password=password, payment_delay=args.payment_delay, poll_seconds=0.1).start()
        exits.callback(sim.stop)
        first = write_sample_config(work / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                    known_hosts_line=sim.known_hosts_line(), sftp_password=password)
        receiver_port = _free_port()
        receiver = subprocess.Popen([sys.executable, "-c", RECEIVER_CHILD, first.webhook_secret, str(receiver_port)],
                                    cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        exits.callback(stop, receiver, timeout=30)
        receiver_url = receiver.stdout.readline().strip() if receiver.stdout else ""
        if not receiver_url:
            raise SystemExit("the callback receiver did not start")
        config = write_sample_config(
            work / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port, known_hosts_line=sim.known_hosts_line(),
            sftp_password=password, callback_url=receiver_url, webhook_secret=first.webhook_secret,
            api_key=first.api_key, window_seconds=args.window, max_claims_per_file=args.batch,
            poll_seconds=args.poll,
        )
        data_dir = work / "data"
        data_dir.mkdir(exist_ok=True)
        KeyRing({"k1": os.urandom(32)}, "k1").save(data_dir / "master.keys")
        env = {
            **os.environ,
            "EDI_DATA_DIR": str(data_dir),
            "EDI_DATABASE_URL": database_url,
            "EDI_BROKER_URL": rabbit.url(),
            "EDI_PARTNERS_FILE": str(config.partners_file),
            "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        pipeline = open_pipeline(Settings.from_env(env), partners_file=config.partners_file)  # migrates

        api_client = None
        if args.door == "api":
            import httpx

            from connectors.api.app import create_app
            from connectors.http_server import ServerThread

            app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline)
            server = ServerThread(app, "127.0.0.1", 0).start()
            exits.callback(server.stop)
            api_client = exits.enter_context(httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {config.api_key}"}, timeout=300))

        worker_args = ["--prefetch", str(args.prefetch)]
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-c", PROFILED_WORKER, str(Path(args.profile).resolve()), *worker_args]
        else:
            command = [sys.executable, "-m", "edi", "worker", *worker_args]
        logs = [(work / f"worker-{i}.log").open("wb") for i in range(args.workers)]
        workers = [subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
                   for log in logs]
        for process in workers:
            exits.callback(stop, process, timeout=30)
        time.sleep(args.warmup)  # imports, connections, queue declarations

        submitter = Submitter(args.door, claims, args.chunk, pipeline, api_client)
        cpu = CpuSampler([process.pid for process in workers], receiver.pid)
        wall_start = time.time()
        cpu.sample()
        submitter.start()
        engine = pipeline.repository.engine
        deadline = time.monotonic() + args.timeout
        last_report = 0.0
        states: Counter[str] = Counter()
        loads: list[float] = []  # the machine's 1-minute load average, every 5 s: how much of it the run got
        while time.monotonic() < deadline:
            time.sleep(0.5)
            cpu.sample()
            if submitter.error is not None:
                raise submitter.error
            states = _state_counts(engine)
            done = sum(states[s] for s in TERMINAL)
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                loads.append(os.getloadavg()[0])
                print(f"  {time.time() - wall_start:6.1f}s  load {loads[-1]:4.1f}  "
                      + ", ".join(f"{k} {v}" for k, v in sorted(states.items())), flush=True)
            if not submitter.is_alive() and done >= args.claims:
                break
        total = time.time() - wall_start
        done = sum(states[s] for s in TERMINAL)
        times = [t - wall_start for t in _delivered_times(engine)]
        for process in workers:
            stop(process, timeout=30)
        complete, kinds, mismatched = _check_callbacks(receiver_url, args.claims)
        submit_seconds = submitter.finished_at - submitter.started_at

    overall = done / total if total > 0 else 0.0
    sustained = None
    if len(times) >= 10:
        low, high = times[int(len(times) * 0.1)], times[int(len(times) * 0.9) - 1]
        if high > low:
            sustained = (int(len(times) * 0.9) - int(len(times) * 0.1)) / (high - low)
    peer_claims, peer_seconds, peer_verdict = pyx12_peer(claims[: args.pyx12_max], work)
    peer_rate = peer_claims / peer_seconds if peer_seconds else None

    print()
    print(f"submitted {args.claims:,} claims in {submit_seconds:.1f}s ({args.claims / submit_seconds:,.0f}/s) "
          f"through {args.door}")
    if loads:
        print(f"load average (1 min) during the run: min {min(loads):.1f}, mean {sum(loads) / len(loads):.1f}, "
              f"max {max(loads):.1f} on {os.cpu_count()} CPUs")
    print(f"terminal: {done:,} of {args.claims:,} ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))})")
    print(f"callbacks: {sum(kinds.values()):,} verified ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
          f"claims with 999 + 277CA + 835: {complete:,}; bodies under two webhook-ids: {mismatched}")
    print()
    print(f"{'measure':<44}{'claims/s':>10}  detail")
    print(f"{'end to end, overall':<44}{overall:>10,.0f}  {done:,} claims in {total:.1f}s")
    if sustained is not None:
        print(f"{'end to end, sustained (10% -> 90% done)':<44}{sustained:>10,.0f}  "
              f"{times[int(len(times) * 0.1)]:.1f}s -> {times[int(len(times) * 0.9) - 1]:.1f}s")
    if peer_rate is not None:
        print(f"{'pyx12: validate one 837P of the same claims':<44}{peer_rate:>10,.0f}  "
              f"{peer_claims:,} claims in {peer_seconds:.1f}s, {peer_verdict}")
        best = sustained or overall
        print(f"ratio ours (sustained) / pyx12 validation: {best / peer_rate:.1f}x")
    if sustained is not None:
        window = (wall_start + times[int(len(times) * 0.1)], wall_start + times[int(len(times) * 0.9) - 1])
        used = cpu.between(*window)
        if used:
            print()
            print(f"cores used during the sustained window, and ms of CPU per claim delivered in it "
                  f"({os.cpu_count()} CPUs):")
            for group, cores in sorted(used.items(), key=lambda item: -item[1]):
                print(f"  {group:<36}{cores:6.2f}  {cores / sustained * 1000:7.2f} ms")
            total_cores = sum(used.values())
            print(f"  {'all':<36}{total_cores:6.2f}  {total_cores / sustained * 1000:7.2f} ms")
    if len(cpu.samples) >= 2:  # the whole run, less noisy than the window with a few thousand claims
        spent = cpu.samples[-1][1].get("workers", 0.0) - cpu.samples[0][1].get("workers", 0.0)
        print(f"  workers over the whole run: {spent:.1f} s CPU, {spent / max(done, 1) * 1000:.2f} ms per claim")
    ok = done == args.claims and states["delivered"] == args.claims and complete == args.claims and not mismatched
    if not ok:
        print("INCOMPLETE: not every claim was delivered with all three callbacks (see worker logs in "
              f"{work})", flush=True)
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--door", choices=("intake", "api"), default="intake")
    parser.add_argument("--chunk", type=int, default=500, help="claims per intake call / POST")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prefetch", type=int, default=200)
    parser.add_argument("--payment-delay", type=float, default=1.0, help="seconds before the simulator pays")
    parser.add_argument("--window", type=float, default=0.5, help="batch window seconds")
    parser.add_argument("--batch", type=int, default=1000, help="max claims per 837 file")
    parser.add_argument("--poll", type=float, default=0.3, help="mailbox poll seconds")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--pyx12-max", type=int, default=2000)
    parser.add_argument("--profile", help="directory for per-thread cProfile dumps of the workers")
    parser.add_argument("--keep", help="work directory to keep (logs, mailbox, payloads)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
