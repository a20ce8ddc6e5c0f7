"""CPU of the payer simulator and the callback receiver, the end-to-end benchmark's partners.

``python -m benchmarks.cpu_payer_sim`` times, in this one process and best of ``--repeat`` runs of
CPU time (``time.process_time``: every thread, so Starlette's worker threads count too):

* the batch mailbox answering one ``--claims``-claim 837P (999 + 277CA, `Mailbox.process_once`)
  and paying it (the 835, `Mailbox.pay_due`), per claim;
* ``rules.answer_270`` alone, and a whole CORE SOAP request through the simulator's ASGI app
  (called directly: no sockets, no HTTP client), per request;
* the callback receiver's ASGI app verifying one Standard Webhooks signed POST, per callback;
* the simulator's SFTP server taking one ``--sftp-claims``-claim 837 and handing out three answers
  (an upload, a listing, three downloads by the engine's asyncssh client in a child process), per
  claim: only this process's CPU is counted, so the client's is not.

``--profile DIR`` writes a cProfile of each part there (``DIR/<part>.prof``). Figures are printed,
never checked: the machine is shared, decide with the profiles.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "payer_sim"
NOW = datetime(2024, 5, 1, 10, 15)


def make_837(claims: int, interchange: int = 500) -> bytes:
    """One 837P of `claims` claims as the benchmark submits them (half each of two members)."""
    from benchmarks.bench_pipeline import make_claims
    from edi.mappers.envelope import Envelope
    from edi.mappers.professional import claims_to_837p
    from edi.models.claims import ProfessionalClaimRequest

    requests = [ProfessionalClaimRequest.model_validate(c) for c in make_claims(claims)]
    envelope = Envelope(sender_id="ENGINE01", receiver_id="SIMPLAN01", interchange_control_number=interchange,
                        group_control_number=interchange, usage="T", now=NOW)
    return claims_to_837p(requests, envelope, max_per_set=5000).encode()


def best(repeat: int, run: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def profiled(directory: Path | None, name: str, run: Callable[[], Any]) -> None:
    if directory is None:
        return
    profile = cProfile.Profile(time.process_time)
    profile.runcall(run)
    profile.dump_stats(str(directory / f"{name}.prof"))


def mailbox_parts(claims: int, repeat: int, profile: Path | None) -> None:
    from connectors.payer_sim.mailbox import Mailbox
    from connectors.payer_sim.roster import load_roster
    from connectors.payer_sim.rules import load_rules

    roster, rules = load_roster(FIXTURES / "roster.yaml"), load_rules(FIXTURES / "rules.yaml")
    data = make_837(claims)
    with tempfile.TemporaryDirectory(prefix="cpu-sim-") as tmp:
        state: dict[str, Any] = {"n": 0}

        def fresh() -> None:
            state["n"] += 1
            box = Mailbox(Path(tmp) / f"m{state['n']}", rules, roster, sender_id="SIMPLAN01",
                          payment_delay_seconds=0)
            (box.inbound / "claims.837").write_bytes(data)
            state["box"] = box

        def answer() -> None:
            assert state["box"].process_once(NOW) == 1

        def pay() -> None:
            assert state["box"].pay_due(NOW + timedelta(seconds=1)) == 1

        acks = best(repeat, answer, fresh)
        payments = []
        for _ in range(repeat):
            fresh()
            answer()
            start = time.process_time()
            pay()
            payments.append(time.process_time() - start)
        print(f"mailbox 999+277CA: {acks * 1000 / claims:.3f} ms/claim ({acks * 1000:.0f} ms per {claims})")
        print(f"mailbox 835:       {min(payments) * 1000 / claims:.3f} ms/claim")
        if profile is not None:
            fresh()
            profiled(profile, "mailbox_answer", answer)
            profiled(profile, "mailbox_pay", pay)


def eligibility_parts(requests: int, repeat: int, profile: Path | None) -> None:
    from benchmarks.bench_eligibility import eligibility_body
    from connectors.core.envelope import CoreRequest, build_request
    from connectors.payer_sim.roster import load_roster
    from connectors.payer_sim.rules import answer_270, load_rules, reply_envelope
    from connectors.payer_sim.server import sim_app
    from edi.mappers.eligibility import request_to_270
    from edi.mappers.envelope import Envelope
    from edi.models.eligibility import EligibilityRequest
    from tests.servers.asgi import post_asgi

    roster, rules = load_roster(FIXTURES / "roster.yaml"), load_rules(FIXTURES / "rules.yaml")
    envelope = Envelope(sender_id="ENGINE01", receiver_id="SIMPLAN01", interchange_control_number=1,
                        group_control_number=1, usage="T", now=NOW)
    texts = [request_to_270(EligibilityRequest.model_validate(eligibility_body(i)), envelope)
             for i in range(requests)]

    def direct() -> None:
        for text in texts:
            answer_270(text, roster, reply_envelope(text, 7, 7))

    seconds = best(repeat, direct)
    print(f"answer_270:        {seconds * 1000 / requests:.3f} ms/request")
    profiled(profile, "answer_270", direct)

    app = sim_app(roster, rules, receiver_id="SIMPLAN01", sender_id="SIMPLAN01")
    bodies = [build_request(CoreRequest.new(t, sender_id="ENGINE01", receiver_id="SIMPLAN01")) for t in texts]

    async def one(body: bytes) -> None:
        status, answer = await post_asgi(app, "/core", body, b"application/soap+xml; charset=utf-8")
        if status != 200 or b"<PayloadType>X12_271" not in answer:
            raise SystemExit(f"CORE answered {status}: {answer[:300]!r}")

    loop = asyncio.new_event_loop()

    async def all_bodies() -> None:
        for body in bodies:
            await one(body)

    def through_app() -> None:  # one task: anyio keeps its worker thread for the whole run
        loop.run_until_complete(all_bodies())

    through_app()  # thread pool started
    seconds = best(repeat, through_app)
    print(f"CORE request:      {seconds * 1000 / requests:.3f} ms/request (ASGI app, handler thread included)")
    profiled(profile, "core_request", through_app)
    loop.close()


def receiver_part(callbacks: int, repeat: int, profile: Path | None) -> None:
    from connectors.delivery.receiver import CallbackReceiver
    from connectors.delivery.webhooks import new_secret, sign_headers

    secret = new_secret()
    receiver = CallbackReceiver(secret)  # not started: its ASGI app is called directly
    body = json.dumps({"type": "claim.acknowledged", "id": "0" * 26, "data": {
        "status": "accepted", "claims": [{"patientControlNumber": f"BENCH-{i:06d}", "statusCode": "A1:20"}
                                         for i in range(20)]}}).encode()
    now = int(time.time())
    requests = []
    for i in range(callbacks):
        headers = sign_headers(secret, f"msg_{i:08d}", body, now)
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        raw += [(b"host", b"127.0.0.1:8099"), (b"content-length", str(len(body)).encode())]
        requests.append(raw)

    async def one(raw: list[tuple[bytes, bytes]]) -> None:
        sent: list[dict[str, Any]] = []
        events = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return events.pop()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await receiver.app({"type": "http", "method": "POST", "path": "/callback", "headers": raw}, receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"receiver answered {sent[0]['status']}")

    loop = asyncio.new_event_loop()

    async def all_requests() -> None:
        for raw in requests:
            await one(raw)

    def run() -> None:
        loop.run_until_complete(all_requests())

    seconds = best(repeat, run)
    print(f"receiver:          {seconds * 1000 / callbacks:.3f} ms/callback (app only, no HTTP parsing)")
    profiled(profile, "receiver", run)
    loop.close()


SFTP_CHILD = r"""
import sys
from pathlib import Path
from connectors.sftp import SftpMailboxClient
from edi.partners import SftpTransport
port, known, upload, rounds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
settings = SftpTransport.model_validate({"host": "127.0.0.1", "port": int(port), "username": "engine",
    "password": {"env": "SIM_SFTP_PASSWORD"}, "known_hosts": known, "inbound_dir": "/inbound",
    "outbound_dir": "/outbound"})
data = upload.read_bytes()
with SftpMailboxClient(settings) as client:
    client.list_outbound()
    print("ready", flush=True)
    sys.stdin.readline()
    for number in range(rounds):
        client.upload(f"claims{number}.837", data)
        for remote in client.list_outbound():
            client.download(remote.name)
    print("done", flush=True)
"""


def sftp_part(claims: int, rounds: int) -> None:
    import os
    import subprocess
    import sys

    from connectors.payer_sim.sftp_server import SftpServerThread

    with tempfile.TemporaryDirectory(prefix="cpu-sim-sftp-") as tmp:
        work = Path(tmp)
        root = work / "mailbox"
        (root / "outbound").mkdir(parents=True)
        upload = work / "claims.837"
        upload.write_bytes(make_837(claims))
        golden = REPO_ROOT / "tests" / "fixtures" / "payer_sim" / "golden"
        for kind in ("999", "277CA", "835"):  # answers about the size of a batch's (the goldens hold 16 claims)
            (root / "outbound" / f"{kind}_answer.x12").write_bytes((golden / f"{kind}.x12").read_bytes()
                                                                  * max(1, claims // 16))
        server = SftpServerThread(root, host="127.0.0.1", port=0, username="engine", password="bench")
        port = server.start()
        try:
            assert server.server is not None
            known = work / "known_hosts"
            known.write_text(server.server.known_hosts_line())
            child = subprocess.Popen(
                [sys.executable, "-c", SFTP_CHILD, str(port), str(known), str(upload), str(rounds)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                env={**os.environ, "SIM_SFTP_PASSWORD": "bench"})
            assert child.stdin is not None and child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise SystemExit("the SFTP client did not connect")
            start = time.process_time()
            child.stdin.write("go\n")
            child.stdin.flush()
            if child.stdout.readline().strip() != "done":
                raise SystemExit("the SFTP client failed")
            seconds = time.process_time() - start
            child.wait(10)
        finally:
            server.stop()
    print(f"SFTP server:       {seconds * 1000 / rounds / claims:.3f} ms/claim "
          f"({seconds * 1000 / rounds:.1f} ms per {claims}-claim batch: upload, listing, 3 downloads)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--callbacks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sftp-claims", type=int, default=150, help="claims per 837 moved over SFTP")
    parser.add_argument("--sftp-rounds", type=int, default=30)
    parser.add_argument("--only", choices=["mailbox", "eligibility", "receiver", "sftp"])
    parser.add_argument("--profile", type=Path, help="directory for cProfile files")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "mailbox"):
        mailbox_parts(args.claims, args.repeat, args.profile)
    if args.only in (None, "eligibility"):
        eligibility_parts(args.requests, args.repeat, args.profile)
    if args.only in (None, "receiver"):
        receiver_part(args.callbacks, args.repeat, args.profile)
    if args.only in (None, "sftp"):
        sftp_part(args.sftp_claims, args.sftp_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
