"""The payer simulator's listeners: the CAQH CORE real-time endpoint and the SFTP batch mailbox.

`sim_app(roster, rules, receiver_id=..., sender_id=...)` is a `connectors.core.server.core_app`
whose handler answers each 270 with `rules.answer_270`. The envelope work (SOAP, CORE field
checks, ReceiverID, optional UsernameToken) is the CORE app's; the only state kept here is the
control-number sequence of the answers, an in-process counter (thread-safe, so that one app may
be served by several loops). A restarted simulator starts again at `control_start`, which is
acceptable for a stand-in partner of real-time exchanges (nothing is stored between them).

The handler is a coroutine that answers inline: a 271 takes about half a millisecond of CPU and
no I/O, and handing it to a worker thread and back cost almost as much again (the simulator shares
the cores with the API in the eligibility benchmark). Answers still come one at a time, as the
GIL had them anyway.

`main(argv)` (``python -m connectors.payer_sim`` or ``edi payer-sim``) serves it with uvicorn.
With ``--mailbox DIR`` it also runs the batch mailbox on that directory
(`connectors.payer_sim.mailbox`: 837 in, 999 + 277CA out, an 835 after ``--payment-delay``
seconds), and with ``--sftp-port`` serves that mailbox over SFTP
(`connectors.payer_sim.sftp_server`), so no system sshd is needed. Everything is bound before
anything is printed; then one line per listener goes to stdout, for scripts and tests to read::

    core: http://127.0.0.1:PORT/core
    sftp: sftp://127.0.0.1:PORT

(``--port 0`` / ``--sftp-port 0`` pick free ports and the chosen ones are printed.)
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import os
import random
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette

from connectors.core.envelope import CoreRequest
from connectors.core.server import Authenticator, core_app
from connectors.heap import freeze_startup_heap
from connectors.payer_sim.roster import Roster, RosterError, load_roster
from connectors.payer_sim.rules import AnswerMemo, Rules, RulesError, answer_270, load_rules, reply_envelope

__all__ = ["ControlCounter", "main", "sim_app"]

log = logging.getLogger(__name__)

#: ISA13 and GS06 allow nine digits; the sequence wraps back to 1 after this.
MAX_CONTROL_NUMBER = 999_999_999


class ControlCounter:
    """Interchange/group control numbers for the simulator's answers, safe across threads."""

    def __init__(self, start: int = 1) -> None:
        if not 1 <= start <= MAX_CONTROL_NUMBER:
            raise ValueError(f"control_start must be between 1 and {MAX_CONTROL_NUMBER}")
        self._count = itertools.count(start)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            value = next(self._count)
        return (value - 1) % MAX_CONTROL_NUMBER + 1


def sim_app(
    roster: Roster,
    rules: Rules,
    *,
    receiver_id: str,
    sender_id: str,
    control_start: int = 1,
    path: str = "/core",
    authenticate: Authenticator | None = None,
) -> Starlette:
    """The CORE real-time app of the simulator.

    `receiver_id` is the CORE ReceiverID it answers for (others get ``ReceiverIDIllegal``);
    `sender_id` is the ISA06/GS02 of its 271s (the rest of the envelope answers the 270's: its
    sender becomes the receiver, usage and separators kept). Each 271 interchange takes the next
    number of a counter starting at `control_start` for ISA13 and GS06.
    """
    counter = ControlCounter(control_start)
    answers: AnswerMemo = {}  # the roster is not changed while it is served

    async def handle(payload: str, meta: CoreRequest) -> str:
        number = counter.next()
        envelope = reply_envelope(payload, number, number)
        envelope = dataclasses.replace(envelope, sender_id=sender_id, application_sender=sender_id)
        return answer_270(payload, roster, envelope, answers=answers)

    app = core_app(handle, path=path, receiver_ids=[receiver_id], authenticate=authenticate)
    app.state.roster = roster
    app.state.rules = rules
    app.state.counter = counter
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edi payer-sim",
        description="Serve the payer simulator: its CAQH CORE real-time endpoint and its SFTP mailbox.",
    )
    parser.add_argument("--roster", type=Path, required=True, help="member roster YAML")
    parser.add_argument("--rules", type=Path, required=True, help="decision rules YAML")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--core-path", default="/core", help="path of the CORE SOAP endpoint")
    parser.add_argument("--receiver-id", help="CORE ReceiverID answered for (default: the roster's payer id)")
    parser.add_argument("--sender-id", help="ISA06 of the 271s (default: the roster's payer id)")
    parser.add_argument("--control-start", type=int, default=1, help="first ISA13/GS06 of the answers")
    parser.add_argument("--mailbox", type=Path, help="mailbox directory (inbound/, outbound/, archive/)")
    parser.add_argument("--payment-delay", type=float, default=5.0, help="seconds before an 835 pays a batch")
    parser.add_argument("--answer-delay-spread", type=float, default=0.0,
                        help="each answer waits --answer-delay +- up to this many seconds, evenly drawn")
    parser.add_argument("--answer-delay", type=float, default=0.0,
                        help="seconds each CORE answer waits first (a payer's own answer time; benchmarks)")
    parser.add_argument("--sftp-port", type=int, help="serve the mailbox over SFTP on this port (0: free)")
    parser.add_argument("--sftp-user", help="the only SFTP account accepted (default: any name)")
    parser.add_argument("--sftp-password-env", help="environment variable holding the SFTP password")
    parser.add_argument("--sftp-authorized-keys", type=Path, help="authorized_keys file for SFTP logins")
    parser.add_argument("--sftp-host-key", type=Path,
                        help="SSH host key file (OpenSSH format); default: generated in the mailbox on first start")
    return parser


def answer_wait(seconds: float, spread: float = 0.0, rng: random.Random | None = None) -> float:
    """How long one answer waits: ``seconds``, or with ``spread`` a time drawn evenly from
    ``seconds`` +- ``spread`` (never below zero): payers' answer times vary."""
    if not spread:
        return seconds
    return (rng or random).uniform(max(0.0, seconds - spread), seconds + spread)


def delayed(app: object, seconds: float, spread: float = 0.0) -> object:
    """Wrap the CORE app so each answer takes ``answer_wait(seconds, spread)`` first (a payer's
    own processing time)."""
    import asyncio

    async def wrapped(scope, receive, send):  # noqa: ANN001, ANN202 - ASGI
        if scope.get("type") == "http":
            await asyncio.sleep(answer_wait(seconds, spread))
        await app(scope, receive, send)  # type: ignore[operator]

    return wrapped


def serve(
    roster_file: Path,
    rules_file: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    core_path: str = "/core",
    receiver_id: str | None = None,
    sender_id: str | None = None,
    control_start: int = 1,
    mailbox: Path | None = None,
    payment_delay: float = 5.0,
    answer_delay: float = 0.0,
    answer_delay_spread: float = 0.0,
    sftp_port: int | None = None,
    sftp_user: str | None = None,
    sftp_password: str | None = None,
    sftp_authorized_keys: Path | None = None,
    sftp_host_key: Path | None = None,
) -> None:
    """Load the files, bind every listener, print one line each and serve until SIGINT/SIGTERM."""
    import uvicorn

    from connectors.payer_sim.mailbox import Mailbox
    from connectors.payer_sim.sftp_server import SftpServerThread

    if sftp_port is not None:
        if mailbox is None:
            raise ValueError("--sftp-port serves the mailbox: give --mailbox too")
        if sftp_password is None and sftp_authorized_keys is None:
            raise ValueError("--sftp-port needs --sftp-authorized-keys or --sftp-password-env")

    roster = load_roster(roster_file)
    rules = load_rules(rules_file)
    default_id = roster.payer_id or rules.payer.payer_id
    if not (receiver_id or default_id) or not (sender_id or default_id):
        raise ValueError("no payer id in the roster or rules: give --receiver-id and --sender-id")
    app = sim_app(
        roster,
        rules,
        receiver_id=receiver_id or default_id or "",
        sender_id=sender_id or default_id or "",
        control_start=control_start,
        path=core_path,
    )
    if answer_delay > 0 or answer_delay_spread > 0:
        app = delayed(app, answer_delay, answer_delay_spread)  # type: ignore[assignment]
    stop = threading.Event()
    mailbox_thread: threading.Thread | None = None
    sftp: SftpServerThread | None = None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if mailbox is not None:
            box = Mailbox(
                mailbox,
                rules,
                roster,
                sender_id=sender_id or default_id or "",
                payment_delay_seconds=payment_delay,
            )
            mailbox_thread = threading.Thread(
                target=box.run, args=(stop,), name="payer-sim-mailbox", daemon=True
            )
            mailbox_thread.start()
        if sftp_port is not None:
            assert mailbox is not None
            sftp = SftpServerThread(
                mailbox,
                host=host,
                port=sftp_port,
                authorized_keys=sftp_authorized_keys,
                username=sftp_user,
                password=sftp_password,
                host_key_path=sftp_host_key,
            )
            sftp.start()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections made right after the URL is printed wait in the backlog
        bound = sock.getsockname()[1]
        freeze_startup_heap()
        print(f"core: http://{shown_host}:{bound}{core_path}", flush=True)
        if sftp is not None:
            print(f"sftp: sftp://{shown_host}:{sftp.port}", flush=True)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        stop.set()
        if sftp is not None:
            sftp.stop()
        if mailbox_thread is not None:
            mailbox_thread.join(10)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.core_path.startswith("/"):
        print("error: --core-path must start with /", file=sys.stderr)
        return 2
    password = None
    if args.sftp_password_env is not None:
        password = os.environ.get(args.sftp_password_env)
        if not password:
            print(f"error: environment variable {args.sftp_password_env} is not set", file=sys.stderr)
            return 2
    try:
        serve(
            args.roster,
            args.rules,
            host=args.host,
            port=args.port,
            core_path=args.core_path,
            receiver_id=args.receiver_id,
            sender_id=args.sender_id,
            control_start=args.control_start,
            mailbox=args.mailbox,
            payment_delay=args.payment_delay,
            answer_delay=args.answer_delay,
            answer_delay_spread=args.answer_delay_spread,
            sftp_port=args.sftp_port,
            sftp_user=args.sftp_user,
            sftp_password=password,
            sftp_authorized_keys=args.sftp_authorized_keys,
            sftp_host_key=args.sftp_host_key,
        )
    except (OSError, RosterError, RulesError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
