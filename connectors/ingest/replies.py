"""Answers to requests that came in by a door go back out through that door.

A request taken in by the folder, SFTP, S3, AMQP or JMS door carries its reply address in the
store (``transactions.reply_to``). The delivery stage hands each answer document (the same JSON
a webhook would carry: 271, 999, 277CA, 835, rejection) to the sink of that channel, built here
from the partners file and the doors' server settings -- the same configuration ``edi doors``
reads, so a worker process writes where the door process takes files in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from connectors.ingest.door import ReplyAddress, ReplySink
from edi.partners import Submitter
from edi.settings import DoorSettings

__all__ = ["DoorReplies", "answer_file_name"]

log = logging.getLogger(__name__)


def answer_file_name(transaction_id: str, document: Mapping[str, Any]) -> str:
    """``<transaction id>.<event type>.json``: the submitter knows the id from its receipt."""
    kind = str(document.get("type") or "response")
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in kind)[:64]
    return f"{transaction_id}.{safe}.json"


class DoorReplies:
    """The reply sinks of every door channel, by channel; sinks that need a connection are made
    on first use and kept."""

    def __init__(self, sinks: Mapping[str, ReplySink] | None = None, *,
                 factories: Mapping[str, Any] | None = None) -> None:
        self._sinks: dict[str, ReplySink] = dict(sinks or {})
        self._factories = dict(factories or {})
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, submitters: Mapping[str, Submitter], settings: DoorSettings, *,
                    boto_session: Any = None) -> DoorReplies:
        doors = {sid: s.doors for sid, s in submitters.items() if s.doors is not None}
        factories: dict[str, Any] = {}
        roots = {sid: d.folder.root for sid, d in doors.items() if d.folder is not None}
        if roots:
            from connectors.ingest.folder import FolderReplySink

            factories["folder"] = lambda: FolderReplySink(roots)
        if any(d.sftp is not None for d in doors.values()):
            from connectors.ingest.sftp_server import SftpReplySink

            factories["sftp"] = lambda: SftpReplySink(settings.sftp_root)
        if any(d.s3 is not None for d in doors.values()):
            def s3() -> ReplySink:
                import boto3

                from connectors.ingest.s3 import S3ReplySink

                session = boto_session or boto3.session.Session()
                return S3ReplySink(session.client("s3", endpoint_url=settings.s3_endpoint_url,
                                                  region_name=settings.s3_region))

            factories["s3"] = s3
        if any(d.amqp is not None for d in doors.values()) and settings.amqp_url:
            from connectors.ingest.amqp import AmqpReplySink

            url = settings.amqp_url
            factories["amqp"] = lambda: AmqpReplySink(url)
        if any(d.jms is not None for d in doors.values()) and settings.stomp_url:
            from connectors.ingest.jms import JmsReplySink
            from connectors.ingest.runner import stomp_endpoint

            stomp = settings.stomp_url
            factories["jms"] = lambda: JmsReplySink(stomp_endpoint(stomp))
        return cls(factories=factories)

    def sink(self, channel: str) -> ReplySink:
        with self._lock:
            if channel not in self._sinks:
                factory = self._factories.get(channel)
                if factory is None:
                    raise LookupError(f"no {channel} door is configured in this process")
                self._sinks[channel] = factory()
            return self._sinks[channel]

    def send(self, reply_to: str, name: str, body: bytes) -> str:
        """Send one answer to the address recorded with the request; returns the channel."""
        address = ReplyAddress.from_json(reply_to)
        self.sink(address.channel).send(address, name, body)
        return address.channel
