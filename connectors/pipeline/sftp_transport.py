"""837 batches up to a partner's SFTP mailbox and its answers back down, one client per partner."""

from __future__ import annotations

import logging
import threading
from typing import Any

from connectors.sftp.client import SftpAuthError, SftpError, SftpMailboxClient, SftpUnavailableError
from edi.partners import TradingPartner
from edi.pipeline import Pipeline
from edi.pipeline.topics import Stage

__all__ = ["SftpTransports", "poll_partner"]

log = logging.getLogger(__name__)
_TYPES = {"TA1": "TA1", "999": "999", "277": "277CA", "835": "835"}


class SftpTransports:
    """Mailbox clients by partner id; ``options`` go to every ``SftpMailboxClient``."""

    def __init__(self, **options: Any) -> None:
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
        stored = pipeline.payloads.put(data)
        _id, created = pipeline.repository.record_inbound(
            partner.id, remote.name, stored, document_type=_document_type(remote.name), topic=Stage.RESPONSES.value
        )
        if not created:
            pipeline.payloads.delete(stored.uri)
        new += created
        try:
            client.remove(remote.name)
        except SftpError as error:
            log.warning("partner %s: could not remove a collected file (%s)", partner.id, type(error).__name__)
    return new
