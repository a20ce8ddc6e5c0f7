"""The payer simulator inside another process (``edi run``, tests): CORE endpoint, mailbox and
its SFTP server as threads, with the addresses a partner configuration needs."""

from __future__ import annotations

import threading
from pathlib import Path

from connectors.http_server import ServerThread
from connectors.payer_sim.mailbox import Mailbox
from connectors.payer_sim.roster import load_roster
from connectors.payer_sim.rules import load_rules
from connectors.payer_sim.server import delayed, sim_app
from connectors.payer_sim.sftp_server import SftpServerThread

__all__ = ["EmbeddedPayerSim"]


class EmbeddedPayerSim:
    def __init__(
        self,
        roster_file: Path,
        rules_file: Path,
        mailbox: Path,
        *,
        host: str = "127.0.0.1",
        core_port: int = 0,
        sftp_port: int = 0,
        sftp_user: str = "submitter",
        sftp_password: str | None = None,
        sftp_authorized_keys: Path | None = None,
        payment_delay: float = 5.0,
        poll_seconds: float = 0.2,
        answer_delay: float = 0.0,
    ) -> None:
        roster, rules = load_roster(roster_file), load_rules(rules_file)
        payer_id = roster.payer_id or rules.payer.payer_id or "SIMPLAN01"
        self.payer_id = payer_id
        self.app = sim_app(roster, rules, receiver_id=payer_id, sender_id=payer_id)
        if answer_delay:
            self.app = delayed(self.app, answer_delay)
        self.http = ServerThread(self.app, host, core_port)
        self.mailbox = Mailbox(mailbox, rules, roster, sender_id=payer_id, payment_delay_seconds=payment_delay)
        self.sftp = SftpServerThread(mailbox, host=host, port=sftp_port, username=sftp_user, password=sftp_password,
                                     authorized_keys=sftp_authorized_keys)
        self._stop = threading.Event()
        self._mailbox_thread = threading.Thread(target=self.mailbox.run, args=(self._stop, poll_seconds),
                                                name="payer-sim-mailbox", daemon=True)
        self.host = host

    @property
    def core_url(self) -> str:
        return f"{self.http.url}/core"

    @property
    def sftp_port(self) -> int:
        return self.sftp.port

    def known_hosts_line(self) -> str:
        assert self.sftp.server is not None
        return self.sftp.server.known_hosts_line()

    def start(self) -> EmbeddedPayerSim:
        self.http.start()
        self.sftp.start()
        self._mailbox_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.sftp.stop()
        self.http.stop()
        self._mailbox_thread.join(10)

    def __enter__(self) -> EmbeddedPayerSim:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
