"""The payer simulator's CAQH CORE real-time endpoint: 270s in, 271s from the roster out.

`sim_app(roster, rules, receiver_id=..., sender_id=...)` is a `connectors.core.server.core_app`
whose handler answers each 270 with `rules.answer_270`. The envelope work (SOAP, CORE field
checks, ReceiverID, optional UsernameToken) is the CORE app's; the only state kept here is the
control-number sequence of the answers, an in-process counter (thread-safe: the handler runs in
Starlette's worker threads). A restarted simulator starts again at `control_start`, which is
acceptable for a stand-in partner.

`main(argv)` (``python -m connectors.payer_sim`` or ``edi payer-sim``) serves it with uvicorn and
prints the URL it listens on, the CORE path included, as the first line on stdout (``--port 0``
picks a free port and prints the chosen one), so scripts and tests can read where to send.

The SFTP mailbox (837 -> 999 + 277CA, later 835) is not served here yet; `rules` is kept on the
app's state for it.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette

from connectors.core.envelope import CoreRequest
from connectors.core.server import Authenticator, core_app
from connectors.payer_sim.roster import Roster, RosterError, load_roster
from connectors.payer_sim.rules import Rules, RulesError, answer_270, load_rules, reply_envelope

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

    def handle(payload: str, meta: CoreRequest) -> str:
        number = counter.next()
        envelope = reply_envelope(payload, number, number)
        envelope = dataclasses.replace(envelope, sender_id=sender_id, application_sender=sender_id)
        return answer_270(payload, roster, envelope)

    app = core_app(handle, path=path, receiver_ids=[receiver_id], authenticate=authenticate)
    app.state.roster = roster
    app.state.rules = rules
    app.state.counter = counter
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edi payer-sim", description="Serve the payer simulator's CAQH CORE real-time endpoint."
    )
    parser.add_argument("--roster", type=Path, required=True, help="member roster YAML")
    parser.add_argument("--rules", type=Path, required=True, help="decision rules YAML")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--core-path", default="/core", help="path of the CORE SOAP endpoint")
    parser.add_argument("--receiver-id", help="CORE ReceiverID answered for (default: the roster's payer id)")
    parser.add_argument("--sender-id", help="ISA06 of the 271s (default: the roster's payer id)")
    parser.add_argument("--control-start", type=int, default=1, help="first ISA13/GS06 of the answers")
    return parser


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
) -> None:
    """Load the files, bind, print the endpoint URL and serve until SIGINT/SIGTERM."""
    import uvicorn

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
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections made right after the URL is printed wait in the backlog
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"http://{shown_host}:{bound}{core_path}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.core_path.startswith("/"):
        print("error: --core-path must start with /", file=sys.stderr)
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
        )
    except (OSError, RosterError, RulesError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
