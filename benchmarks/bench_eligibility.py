"""Real-time eligibility benchmark: the API's overhead around the payer's answer time.

``python -m benchmarks.bench_eligibility`` starts, as separate processes on loopback:

* the payer simulator (``python -m connectors.payer_sim``, its CAQH CORE endpoint),
* the API as ``edi api`` does it (uvicorn, ``connectors.pipeline.commands.run_api``) over a store:
  the embedded SQLite default and/or PostgreSQL (a throwaway cluster from ``tests/servers/postgres.py``),

then drives ``POST /eligibility`` with an async aiohttp client at each concurrency level (default
20, 50, 100) for a fixed number of requests. Every answer must be 200 with a 271 body.

The clients form a closed loop (each sends its next request when its last is answered) and start
one after the other over ``--ramp`` seconds (default: the payer delay), as independent callers
do; only requests sent once every client is running are measured. Started together (``--burst``)
with a fixed payer delay, the clients stay in step: every round of N requests arrives in the same
instant and the last of each round waits for the N-1 before it, which measures that burst.

What is measured, per request:

``latency``   the client's wall time for the whole POST;
``payer``     the CORE exchange as the API timed it (its ``Server-Timing: core;dur=`` header): the
              simulator's answer time plus the loopback hop;
``overhead``  latency - payer: what the pipeline adds (validation, store, 270, 271, JSON).
``ovh-d``     latency - the simulator's fixed answer delay (``--payer-delay``): the conservative
              figure. The API's own timing of the CORE call also holds the time its event loop took
              to notice the answer, which is the API's overhead, not the payer's; subtracting only the
              fixed delay counts that, the loopback hop and the simulator's own work as ours.

As a cross-check the same run times direct CORE calls to the simulator (no API) at the same
concurrency: the simulator's own answer time under that load.

The peer, measured in the same run at the same concurrency, is the hand-rolled glue a team writes
without an engine: build the 270 text from a template, validate it with pyx12, POST the same CORE
envelope with httpx, parse the SOAP answer and validate the 271 with pyx12 (pyx12 runs in a thread
pool, as an async service would run it). Its overhead is its latency minus its own CORE call time.
Ratios are peer / ours (higher is better for us).

``--api-workers N`` (2) serves the API from N processes (``edi api --workers N``), one per core.
``--payer-delay S`` makes every simulator answer wait S seconds first (CAQH CORE payers answer
in roughly 0.3-3 s; 0 measures the engine against an instant payer).

``--profile DIR`` samples the API processes with py-spy (all threads) during the 50-concurrency run
of the first store and writes the collapsed stacks and a top-functions summary there.

Timings are printed, never checked; the exit status is 1 only when a request did not get its 271.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "connectors" / "payer_sim" / "sample"
MEMBERS = [("SIM00001", "DOE", "19800115"), ("SIM00002", "ROE", "19750630")]
PAYER_ID = "SIMPLAN01"
SENDER_ID = "EDIENGINE"


# ---------------------------------------------------------------------------------------- numbers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Series:
    latency: list[float] = field(default_factory=list)  # seconds
    payer: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    wall: float = 0.0
    delay: float = 0.0  # the simulator's fixed answer delay, seconds
    notes: collections.Counter[str] = field(default_factory=collections.Counter)
    first_failure: str = ""  # the first failed answer's body (synthetic data), for the log
    sent: list[float] = field(default_factory=list)  # when each measured request was sent
    steady_from: float = 0.0  # requests sent before this (the ramp) are not measured
    ramp_requests: int = 0

    def add(self, sent: float, latency: float, payer: float) -> None:
        self.sent.append(sent)
        self.latency.append(latency)
        self.payer.append(payer)

    def keep_steady(self) -> None:
        keep = [k for k, sent in enumerate(self.sent) if sent >= self.steady_from]
        self.ramp_requests = len(self.sent) - len(keep)
        self.sent = [self.sent[k] for k in keep]
        self.latency = [self.latency[k] for k in keep]
        self.payer = [self.payer[k] for k in keep]

    @property
    def overhead(self) -> list[float]:
        return [max(0.0, total - payer) for total, payer in zip(self.latency, self.payer, strict=True)]

    @property
    def overhead_delay(self) -> list[float]:
        return [max(0.0, total - self.delay) for total in self.latency]

    def ms(self, values: list[float], q: float) -> float:
        return percentile(values, q) * 1000 if values else float("nan")


# ---------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    """A child process whose stdout is read until it announces what we wait for."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = (log_dir / f"{name}.log").open("w")
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     cwd=ROOT, start_new_session=True)
        self.lines: list[str] = []

    def wait_for(self, prefix: str, timeout: float = 60.0) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line)
                if line.startswith(prefix):
                    found.append(line)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.stop()
            raise RuntimeError(f"{self.name} did not print {prefix!r} within {timeout:g} s (see {self.log.name})")
        return found[0].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def start_sim(log_dir: Path, delay: float = 0.0, spread: float = 0.0) -> tuple[Child, str]:
    sim = Child("payer-sim", [sys.executable, "-m", "connectors.payer_sim", "--roster", str(SAMPLE / "roster.yaml"),
                              "--rules", str(SAMPLE / "rules.yaml"), "--port", "0", "--answer-delay", str(delay),
                              "--answer-delay-spread", str(spread)],
                child_env(), log_dir)
    line = sim.wait_for("core: ")
    return sim, line.removeprefix("core: ")


def write_config(directory: Path, core_url: str) -> tuple[Path, str]:
    from connectors.pipeline.sample import write_sample_config

    # The API never touches the SFTP mailbox; the partner needs one configured because it takes 837s.
    config = write_sample_config(directory, core_url=core_url, sftp_port=9,
                                 known_hosts_line="127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench\n")
    return config.partners_file, config.api_key


@contextmanager
def simulated_partner(prefix: str, delay: float = 0.0) -> Iterator[tuple[Path, Path, str]]:
    """A scratch directory with the payer simulator serving from it and the sample partners file
    pointing at it: (directory, partners file, the sample submitter's API key)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        sim, core_url = start_sim(work, delay)
        try:
            partners, api_key = write_config(work / "cfg", core_url)
            yield work, partners, api_key
        finally:
            sim.stop()


def start_api(name: str, data_dir: Path, database_url: str, partners: Path, log_dir: Path,
              workers: int = 1) -> tuple[Child, str]:
    from edi.keys import KeyRing, generate_key

    data_dir.mkdir(parents=True, exist_ok=True)
    import base64

    KeyRing({"k1": base64.b64decode(generate_key())}, "k1").save(data_dir / "master.keys")
    port = free_port()
    env = child_env(EDI_DATA_DIR=str(data_dir), EDI_DATABASE_URL=database_url, EDI_PARTNERS_FILE=str(partners))
    api = Child(f"api-{name}", [sys.executable, "-m", "edi", "api", "--host", "127.0.0.1", "--port", str(port),
                                         "--workers", str(workers)],
                env, log_dir)
    api.wait_for("api: ")
    return api, f"http://127.0.0.1:{port}"


@contextmanager
def postgres_url() -> Iterator[str]:
    from tests.servers.postgres import start_postgres

    with start_postgres() as server:
        yield server.create_database("bench_elig")


# ---------------------------------------------------------------------------------------- our API


def eligibility_body(i: int) -> dict[str, object]:
    member, last, dob = MEMBERS[i % len(MEMBERS)]
    return {
        "controlNumber": f"{100_000_000 + i % 900_000_000}",
        "tradingPartnerServiceId": PAYER_ID,
        "provider": {"organizationName": "HAPPY CLINIC", "npi": "1234567893"},
        "subscriber": {"memberId": member, "firstName": "PAT", "lastName": last, "dateOfBirth": dob},
        "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240501"},
    }


def core_ms(header: str | None) -> float | None:
    """The ``core;dur=<ms>`` entry of a Server-Timing header, in seconds."""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "core":
            for param in params.split(";"):
                key, _, value = param.strip().partition("=")
                if key == "dur":
                    return float(value) / 1000
    return None


async def run_pool(concurrency: int, total: int, one: object, series: Series, ramp: float = 0.0) -> None:
    """Run ``one(i)`` for i in range(total) with ``concurrency`` workers (a closed loop: each sends
    its next request when the last is answered); sets the series' wall time.

    ``ramp`` > 0 starts the workers one after the other, evenly over that many seconds, as
    independent callers would arrive, and then keeps only the requests sent once all of them had
    started: with a fixed payer delay, workers started together stay in step and every request
    of a round arrives in the same instant, a burst no set of independent callers produces (with
    ``ramp`` 0, ``--burst``, that is what is measured)."""
    counter = iter(range(total))

    async def worker(k: int) -> None:
        if ramp > 0:
            await asyncio.sleep(ramp * k / concurrency)
        for i in counter:
            await one(i)  # type: ignore[operator]

    started = time.perf_counter()
    series.steady_from = started + ramp
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    series.wall = time.perf_counter() - started
    series.keep_steady()


async def drive_api(url: str, api_key: str, concurrency: int, total: int, offset: int,
                    delay: float = 0.0, ramp: float = 0.0) -> Series:
    """The load: ``concurrency`` clients in a closed loop. aiohttp, because the driver shares the
    machine's cores with the API it measures, and httpx's client spends several times aiohttp's
    CPU per request (see bench_callbacks): a heavy driver shows up as the API's latency."""
    import aiohttp

    series = Series(delay=delay)
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with aiohttp.ClientSession(url, connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(i: int) -> None:
            started = time.perf_counter()
            try:
                async with client.post("/eligibility", json=eligibility_body(offset + i)) as answer:
                    body = await answer.read()
            except (aiohttp.ClientError, TimeoutError) as error:
                series.failures[type(error).__name__] += 1
                return
            elapsed = time.perf_counter() - started
            payer = core_ms(answer.headers.get("server-timing"))
            if answer.status != 200 or payer is None or json.loads(body).get("type") is None:
                series.failures[f"HTTP {answer.status}"] += 1
                series.first_failure = series.first_failure or body[:500].decode("utf-8", "replace")
                return
            series.add(started, elapsed, payer)

        await run_pool(concurrency, total, one, series, ramp=ramp)
    return series


# ---------------------------------------------------------------------------------------- CORE direct and the pyx12 peer

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"><soap:Body><cor:COREEnvelopeRealTimeRequest>'
    "<PayloadType>X12_270_Request_005010X279A1</PayloadType><ProcessingMode>RealTime</ProcessingMode>"
    "<PayloadID>{payload_id}</PayloadID><TimeStamp>{timestamp}</TimeStamp><SenderID>{sender}</SenderID>"
    "<ReceiverID>{receiver}</ReceiverID><CORERuleVersion>2.2.0</CORERuleVersion>"
    "<Payload><![CDATA[{payload}]]></Payload></cor:COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>"
)
SOAP_HEADERS = {"Content-Type": 'application/soap+xml; charset=utf-8; action="RealTimeTransaction"'}


def glue_270(i: int) -> str:
    """The 270 as a hand-rolled integration writes it: a string template."""
    member, last, dob = MEMBERS[i % len(MEMBERS)]
    now = time.gmtime()
    icn = 1 + i % 999_999_999
    segments = [
        f"ISA*00*          *00*          *ZZ*{SENDER_ID:<15}*ZZ*{PAYER_ID:<15}*{time.strftime('%y%m%d', now)}*"
        f"{time.strftime('%H%M', now)}*^*00501*{icn:09d}*0*T*:",
        f"GS*HS*{SENDER_ID}*{PAYER_ID}*{time.strftime('%Y%m%d', now)}*{time.strftime('%H%M', now)}*{icn}*X*005010X279A1",
        "ST*270*0001*005010X279A1",
        f"BHT*0022*13*{100000000 + i}*{time.strftime('%Y%m%d', now)}*{time.strftime('%H%M', now)}",
        "HL*1**20*1", f"NM1*PR*2******PI*{PAYER_ID}",
        "HL*2*1*21*1", "NM1*1P*2*HAPPY CLINIC*****XX*1234567893",
        "HL*3*2*22*0", f"TRN*1*{100000000 + i}*9{SENDER_ID}",
        f"NM1*IL*1*{last}*PAT****MI*{member}", f"DMG*D8*{dob}", "DTP*291*D8*20240501", "EQ*30",
        "SE*13*0001", f"GE*1*{icn}", f"IEA*1*{icn:09d}",
    ]
    return "~".join(segments) + "~"


def envelope(payload: str) -> bytes:
    return ENVELOPE.format(payload_id=uuid.uuid4(), timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           sender=SENDER_ID, receiver=PAYER_ID, payload=payload).encode()


_PYX12_LOCAL = threading.local()


def pyx12_valid(text: str) -> bool:
    import pyx12.params
    import pyx12.x12n_document

    from edi.maps import pyx12_map_folder

    if not hasattr(_PYX12_LOCAL, "params"):
        _PYX12_LOCAL.params = pyx12.params.params()
        _PYX12_LOCAL.maps = str(pyx12_map_folder())
    out = io.StringIO()
    return bool(pyx12.x12n_document.x12n_document(_PYX12_LOCAL.params, io.StringIO(text), out, None,
                                                  map_path=_PYX12_LOCAL.maps))


def read_271(content: bytes) -> str:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(content)
    code = root.find(".//ErrorCode")
    payload = root.find(".//Payload")
    if code is None or code.text != "Success" or payload is None or not payload.text:
        raise ValueError("CORE error answer")
    return payload.text


async def drive_core(core_url: str, concurrency: int, total: int, offset: int, *, peer: bool,
                     delay: float = 0.0, ramp: float = 0.0) -> Series:
    """Direct CORE calls (peer=False: prepared 270s, only the call is timed), or the pyx12 glue."""
    series = Series(delay=delay)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(i: int) -> None:
            started = time.perf_counter()
            try:
                text = glue_270(offset + i)
                if peer and not await asyncio.to_thread(pyx12_valid, text):
                    raise ValueError("pyx12 rejected the 270")
                body = envelope(text)
                sent = time.perf_counter()
                answer = await client.post(core_url, content=body, headers=SOAP_HEADERS)
                payer = time.perf_counter() - sent
                answer.raise_for_status()
                x12_271 = read_271(answer.content)
                if peer and not await asyncio.to_thread(pyx12_valid, x12_271):
                    # pyx12 4.0 flags the simulator's repeated EB03 (98^UC) although ISA11 declares
                    # "^" as the repetition separator: its verdict is counted, the work still done.
                    series.notes["pyx12 rejected a valid 271"] += 1
            except (httpx.HTTPError, ValueError) as error:
                series.failures[type(error).__name__] += 1
                return
            series.add(started, time.perf_counter() - started if peer else payer, payer)

        await run_pool(concurrency, total, one, series, ramp=ramp)
    return series


# ---------------------------------------------------------------------------------------- profiling


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live child processes (the API's workers), all
    threads (Linux /proc): the load-independent cost."""
    from tests.servers.proc import tree_cpu

    return tree_cpu(pid)


@contextmanager
def sampled(pid: int, out_dir: Path | None, name: str) -> Iterator[None]:
    """py-spy sampling all threads of ``pid`` while the block runs (nothing when out_dir is None)."""
    if out_dir is None:
        yield
        return
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{name}.collapsed"
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--threads", "--gil", "--subprocesses",
                             "--output", str(raw), "--nonblocking"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        if raw.exists():
            (out_dir / f"{name}.top.txt").write_text(summarize(raw))


def summarize(raw: Path, top: int = 40) -> str:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        own[frames[-1]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
    lines = [f"{total} samples", "", "per thread:"]
    lines += [f"  {n:6d}  {thread}" for thread, n in threads.most_common(12)]
    lines += ["", "inclusive:"] + [f"  {n:6d} {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"] + [f"  {n:6d} {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- main


def row(label: str, s: Series, n: int) -> str:
    ok = len(s.latency) + s.ramp_requests
    rate = ok / s.wall if s.wall else 0.0
    fail = f"  failed {sum(s.failures.values())} ({dict(s.failures)})" if s.failures else ""
    fail += f"  ({s.ramp_requests} sent during the ramp not counted)" if s.ramp_requests else ""
    fail += f"  ({', '.join(f'{k}: {v}' for k, v in s.notes.items())})" if s.notes else ""
    return (f"{label:<18} {ok:>5}/{n:<5} {rate:8.1f} {s.ms(s.latency, 50):9.1f} {s.ms(s.latency, 99):9.1f} "
            f"{s.ms(s.payer, 50):8.1f} {s.ms(s.payer, 99):8.1f} {s.ms(s.overhead, 50):8.1f} "
            f"{s.ms(s.overhead, 99):8.1f} {s.ms(s.overhead_delay, 50):8.1f} {s.ms(s.overhead_delay, 99):8.1f}{fail}")


HEADER = (f"{'':<18} {'ok':>11} {'req/s':>8} {'lat p50':>9} {'lat p99':>9} {'payer50':>8} {'payer99':>8} "
          f"{'ovh p50':>8} {'ovh p99':>8} {'ovh-d50':>8} {'ovh-d99':>8}   (ms)")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


async def bench(args: argparse.Namespace, stores: dict[str, tuple[str, str]], core_url: str) -> bool:
    ok = True
    offset = 0
    for concurrency in args.levels:
        print(f"\n== {concurrency} concurrent, {args.requests} requests each  (load average {load_average()})")
        print(HEADER)
        direct = await drive_core(core_url, concurrency, args.requests, offset, peer=False, delay=args.payer_delay,
                                  ramp=args.ramp)
        offset += args.requests
        print(row("simulator direct", direct, args.requests))
        results: dict[str, Series] = {}
        for name, (url, key) in stores.items():
            profile = args.profile if (name == next(iter(stores)) and concurrency == 50) else None
            cpu = cpu_seconds(API_PIDS[name])
            with sampled(API_PIDS[name], profile, f"api-{name}-c{concurrency}"):
                series = await drive_api(url, key, concurrency, args.requests, offset, args.payer_delay, args.ramp)
            cpu = cpu_seconds(API_PIDS[name]) - cpu
            offset += args.requests
            results[name] = series
            ok &= not series.failures
            print(row(f"api ({name})", series, args.requests)
                  + f"  cpu {1000 * cpu / max(1, len(series.latency) + series.ramp_requests):.1f} ms/req")
        if args.peer_requests:
            peer = await drive_core(core_url, concurrency, args.peer_requests, offset, peer=True,
                                    delay=args.payer_delay, ramp=args.ramp)
            offset += args.peer_requests
            ok &= not peer.failures
            print(row("pyx12 glue", peer, args.peer_requests))
            for name, series in results.items():
                if series.latency and peer.latency:
                    r50 = percentile(peer.overhead, 50) / max(percentile(series.overhead, 50), 1e-6)
                    r99 = percentile(peer.overhead, 99) / max(percentile(series.overhead, 99), 1e-6)
                    print(f"  overhead ratio pyx12 glue / api ({name}): p50 {r50:.1f}x, p99 {r99:.1f}x")
        target = results.get(next(iter(stores)))
        if concurrency == 50 and target is not None and target.latency:
            print(f"  target: overhead p99 <= 50 ms at 50 concurrent -> {target.ms(target.overhead, 99):.1f} ms "
                  f"(latency - payer), {target.ms(target.overhead_delay, 99):.1f} ms (latency - fixed delay)")
    return ok


API_PIDS: dict[str, int] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="20,50,100", help="concurrency levels (comma-separated)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per level and store")
    parser.add_argument("--peer-requests", type=int, default=200, help="pyx12 glue requests per level (0: skip)")
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--warmup", type=int, default=100, help="requests per store before measuring")
    parser.add_argument("--workdir", type=Path, help="keep data and logs here")
    parser.add_argument("--api-workers", type=int, default=2, help="API processes (edi api --workers)")
    parser.add_argument("--payer-delay", type=float, default=0.0, help="seconds the simulator waits per answer")
    parser.add_argument("--payer-spread", type=float, default=0.0,
                        help="each simulator answer waits the payer delay +- up to this many seconds (evenly drawn)")
    parser.add_argument("--ramp", type=float, help="seconds over which the clients start (default: the payer delay)")
    parser.add_argument("--burst", action="store_true", help="start every client at once (--ramp 0)")
    parser.add_argument("--profile", type=Path, help="py-spy the API during the 50-concurrency run (first store)")
    args = parser.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",") if x]
    args.ramp = 0.0 if args.burst else (args.payer_delay if args.ramp is None else args.ramp)
    names = [x.strip() for x in args.stores.split(",") if x.strip()]
    if not names or set(names) - {"sqlite", "postgres"}:
        parser.error("--stores takes sqlite and/or postgres")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # it logs every finding of every document

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-elig-"))
    work.mkdir(parents=True, exist_ok=True)
    import platform

    print(f"python {platform.python_version()} | {os.cpu_count()} CPUs | load average {load_average()} | "
          f"work {work} | api workers {args.api_workers} | payer delay {args.payer_delay:g} s | "
          f"clients start over {args.ramp:g} s")
    with ExitStack() as exits:
        sim, core_url = start_sim(work, args.payer_delay, args.payer_spread)
        exits.callback(sim.stop)
        partners, api_key = write_config(work / "config", core_url)
        stores: dict[str, tuple[str, str]] = {}
        for name in names:
            if name == "postgres":
                database = exits.enter_context(postgres_url())
            else:
                database = f"sqlite:///{work / 'sqlite' / 'edi.db'}"
            api, url = start_api(name, work / name, database, partners, work, args.api_workers)
            exits.callback(api.stop)
            API_PIDS[name] = api.proc.pid
            stores[name] = (url, api_key)
            warm = asyncio.run(drive_api(url, api_key, 10, args.warmup, 800_000_000, args.payer_delay))
            if warm.failures:
                print(f"warm-up against {name} failed: {dict(warm.failures)} {warm.first_failure} (see {work})",
                      file=sys.stderr)
                return 1
        ok = asyncio.run(bench(args, stores, core_url))
    print(f"\nload average at the end {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
