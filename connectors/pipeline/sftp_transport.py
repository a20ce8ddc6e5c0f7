"""837 batches up to a partner's SFTP mailbox and its answers back down, one client per partner.

For a partner with a ``pgp`` section the batch goes up encrypted to its key and signed by ours
(``NAME.pgp``), and its answers are taken only when they decrypt and carry its signature; one that
does not is never recorded: it is moved to ``quarantine_dir`` (when given) or left in the mailbox.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.pgp import PgpError, PgpPeers, PgpRefusedError
from connectors.sftp.client import SftpAuthError, SftpError, SftpMailboxClient, SftpUnavailableError
from edi.partners import TradingPartner
from edi.pipeline import Pipeline
from edi.pipeline.topics import Stage

__all__ = ["SftpTransports", "poll_partner"]

log = logging.getLogger(__name__)
_TYPES = {"TA1": "TA1", "999": "999", "277": "277CA", "835": "835"}


class SftpTransports:
    """Mailbox clients by partner id; ``options`` go to every ``SftpMailboxClient``."""

    def __init__(self, *, pgp: PgpPeers | None = None, quarantine_dir: Path | str | None = None,
                 **options: Any) -> None:
        self.pgp = pgp
        self.quarantine_dir = Path(quarantine_dir) if quarantine_dir is not None else None
        self._options = options
        self._clients: dict[str, SftpMailboxClient] = {}
        self._lock = threading.Lock()

    def client(self, partner: TradingPartner) -> SftpMailboxClient:
        if partner.transport.sftp is None:
            raise ValueError(f"partner {partner.id!r} has no sftp transport")
        with self._lock:
            client = self._clients.get(partner.id)
            if client is None:
                client = self._clients[partner.id] = SftpMailboxClient(partner.transport.sftp, **self._options)
            return client

    def upload(self, partner: TradingPartner, name: str, data: bytes) -> str | None:
        """Upload one file; None when done, else an error code (the caller schedules a retry)."""
        if self.pgp is not None:
            try:
                name, data = self.pgp.seal(partner.id, name, data)
            except PgpError as error:
                log.error("partner %s: batch not encrypted: %s", partner.id, error)
                return "pgp:seal"
        try:
            self.client(partner).upload(name, data)
        except SftpUnavailableError:
            return "sftp:unavailable"
        except SftpAuthError:
            log.error("partner %s: SFTP login refused", partner.id)
            return "sftp:auth"
        except SftpError as error:
            log.warning("partner %s: upload failed (%s)", partner.id, type(error).__name__)
            return "sftp:error"
        return None

    def quarantine(self, partner: TradingPartner, name: str, data: bytes) -> bool:
        """Keep a refused partner file locally; False (leave it in the mailbox) without a quarantine."""
        if self.quarantine_dir is None:
            return False
        folder = self.quarantine_dir / partner.id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(6)}--{name}"
            with path.open("xb") as handle:
                handle.write(data)
        except OSError as error:
            log.error("partner %s: refused file not kept in quarantine (%s)", partner.id, type(error).__name__)
            return False
        return True

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                client.close()
            except Exception:  # closing is best effort
                log.debug("closing an SFTP client failed", exc_info=True)


def _document_type(name: str) -> str | None:
    prefix = name.split("_", 1)[0].upper()
    return _TYPES.get(prefix)


def poll_partner(pipeline: Pipeline, transports: SftpTransports, partner: TradingPartner) -> int:
    """Collect the partner's outbound files: each is stored encrypted and recorded (with its
    processing message) before it is removed remotely, so a crash re-downloads, never loses, and
    the store's unique key makes the second copy a no-op. Returns how many files were new."""
    try:
        client = transports.client(partner)
        files = client.list_outbound()
    except SftpError as error:
        log.warning("partner %s: cannot list the mailbox (%s)", partner.id, type(error).__name__)
        return 0
    new = 0
    order = {"TA1": 0, "999": 1, "277CA": 2, "835": 3}
    for remote in sorted(files, key=lambda f: (order.get(_document_type(f.name) or "", 4), f.name)):
        try:
            data = client.download(remote.name)
        except SftpError as error:
            log.warning("partner %s: download failed (%s)", partner.id, type(error).__name__)
            return new
        name = remote.name
        if transports.pgp is not None and transports.pgp.wants_open(partner.id, name, data):
            try:
                name, data = transports.pgp.open(partner.id, name, data)
            except PgpRefusedError as error:
                log.error("partner %s: a collected file is refused: %s", partner.id, error)
                if transports.quarantine(partner, remote.name, data):
                    _remove_remote(client, partner, remote.name)
                continue
        stored = pipeline.payloads.put(data)
        _id, created = pipeline.repository.record_inbound(
            partner.id, name, stored, document_type=_document_type(name), topic=Stage.RESPONSES.value
        )
        if not created:
            pipeline.payloads.delete(stored.uri)
        new += created
        _remove_remote(client, partner, remote.name)
    return new


def _remove_remote(client: SftpMailboxClient, partner: TradingPartner, name: str) -> None:
    try:
        client.remove(name)
    except SftpError as error:
        log.warning("partner %s: could not remove a collected file (%s)", partner.id, type(error).__name__)
