"""Running the ingest doors configured in the partners file, as threads around one intake
(``edi doors``, ``edi run``).

Which submitter uses which door (and its mapping files) is partner configuration
(``Submitter.doors``); where the servers are is deployment configuration (``DoorSettings``, from
the environment). One ``PipelineIntake`` serves every door, so a submitter's files and messages
meet the same checks, the same limits and the same store. A door that cannot start (its broker
is down) keeps retrying on its own thread; a configuration error stops the start, naming the
submitter and the door.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from connectors.ingest.door import Intake
from connectors.ingest.intake import PipelineIntake
from edi.ingest import ColumnMapping, Limits, load_mapping
from edi.partners import Submitter
from edi.pipeline import Pipeline
from edi.settings import DoorSettings

__all__ = ["DoorRunner", "stomp_endpoint", "submitter_mappings"]

log = logging.getLogger(__name__)


def submitter_mappings(submitters: Mapping[str, Submitter]) -> dict[str, list[ColumnMapping]]:
    """Each submitter's CSV/fixed-width mappings, loaded now so a bad mapping fails the start."""
    return {sid: [load_mapping(path) for path in s.doors.mappings]
            for sid, s in submitters.items() if s.doors is not None and s.doors.mappings}


@dataclass
class DoorRunner:
    """Starts every door the submitters use; ``listening`` says where each one listens or watches."""

    pipeline: Pipeline
    settings: DoorSettings
    submitters: Mapping[str, Submitter] | None = None  # None: every submitter of the pipeline's partners
    intake: Intake | None = None
    boto_session: Any = None  # a boto3 Session (tests pass credentials this way); None: the default
    listening: list[str] = field(default_factory=list)
    sftp_server: Any = None  # the SFTP door's server once started (its bound port, host key)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> DoorRunner:
        submitters = dict(self.submitters if self.submitters is not None else self.pipeline.partners.submitters)
        using = {sid: s for sid, s in submitters.items() if s.doors is not None}
        if self.intake is None:
            self.intake = PipelineIntake(self.pipeline, submitter_mappings(using),
                                         limits=Limits(max_bytes=self.settings.max_bytes))
        try:
            self._folders(using)
            self._sftp(using)
            self._s3(using)
            self._amqp(using)
            self._jms(using)
        except BaseException:
            self.stop()
            raise
        if not self.listening:
            log.warning("doors: no submitter has doors configured (submitters.<id>.doors in the partners file)")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for stopper in reversed(self._stoppers):
            try:
                stopper()
            except Exception:
                log.warning("doors: a door did not stop cleanly", exc_info=True)
        for thread in self._threads:
            thread.join(timeout)
        self._stoppers.clear()
        self._threads.clear()

    def __enter__(self) -> DoorRunner:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- the doors ---------------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _keyring(self) -> Any:
        """The payload store's master keys: the doors' archive and quarantine are sealed with them."""
        keyring = getattr(self.pipeline.payloads, "keyring", None)
        if keyring is None:
            raise ValueError("the folder and SFTP doors keep files encrypted: the payload store has no key ring")
        return keyring

    def _folders(self, using: Mapping[str, Submitter]) -> None:
        from connectors.ingest.folder import FolderDoor

        for sid, submitter in using.items():
            config = submitter.doors.folder if submitter.doors else None
            if config is None:
                continue
            assert self.intake is not None
            door = FolderDoor({sid: config.root}, self.intake, settle_seconds=config.settle_seconds,
                              poll_interval=config.poll_interval_seconds, max_bytes=self.settings.max_bytes,
                              keyring=self._keyring())
            self._spawn(f"folder-{sid}", door.run, self._stop)
            layout = door.layouts[sid]
            self.listening.append(f"folder {sid}: drop files in {layout.inbound}, answers in {layout.outbound}")

    def _sftp(self, using: Mapping[str, Submitter]) -> None:
        from connectors.ingest.sftp_server import SftpAccount, SftpIngestThread

        accounts = []
        for sid, submitter in using.items():
            config = submitter.doors.sftp if submitter.doors else None
            if config is not None:
                accounts.append(SftpAccount(sid, config.username, config.password_hash, config.authorized_key_lines(),
                                            answers=config.answers))
        if not accounts:
            return
        assert self.intake is not None
        thread = SftpIngestThread(self.settings.sftp_root, accounts, self.intake,
                                  host_key_path=self.settings.sftp_host_key, host=self.settings.sftp_host,
                                  port=self.settings.sftp_port, max_bytes=self.settings.max_bytes,
                                  keyring=self._keyring())
        server = thread.start()
        self._stoppers.append(thread.stop)
        self.sftp_server = server
        users = ", ".join(f"{a.username} ({a.submitter_id})" for a in accounts)
        self.listening.append(f"sftp: sftp://{server.host}:{server.port} for {users}; host key {server.host_key_public}")

    def _s3(self, using: Mapping[str, Submitter]) -> None:
        groups: dict[tuple[str, str | None], list[tuple[str, Any]]] = {}
        for sid, submitter in using.items():
            config = submitter.doors.s3 if submitter.doors else None
            if config is not None:
                groups.setdefault((config.bucket, config.sqs_queue), []).append((sid, config))
        if not groups:
            return
        import boto3

        from connectors.ingest.s3 import S3Door, S3Submitter

        session = self.boto_session or boto3.session.Session()
        options = {"endpoint_url": self.settings.s3_endpoint_url, "region_name": self.settings.s3_region}
        s3 = session.client("s3", **options)
        for (bucket, queue), members in groups.items():
            assert self.intake is not None
            door = S3Door(s3, bucket, [S3Submitter(sid, c.prefix) for sid, c in members], self.intake,
                          door_id=self.settings.door_id, max_bytes=self.settings.max_bytes,
                          lookup_key=self.pipeline.repository.lookup_key)
            names = ", ".join(f"s3://{bucket}/{c.prefix}/inbound/ ({sid})" for sid, c in members)
            if queue is None:
                interval = min(c.poll_interval_seconds for _, c in members)
                self._spawn(f"s3-{bucket}", door.run_polling, self._stop, interval)
                self.listening.append(f"s3: polling {names} every {interval:g} s")
            else:
                sqs = session.client("sqs", **options)
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                self._spawn(f"s3-{bucket}-{queue}", door.run_sqs, sqs, url, self._stop)
                self.listening.append(f"s3: {names}, notified through SQS queue {queue}")

    def _amqp(self, using: Mapping[str, Submitter]) -> None:
        from connectors.ingest.amqp import AmqpDoor

        for sid, submitter in using.items():
            config = submitter.doors.amqp if submitter.doors else None
            if config is None:
                continue
            if not self.settings.amqp_url:
                raise ValueError(f"submitter {sid} uses an AMQP door: set EDI_DOORS_AMQP_URL (or an AMQP "
                                 "EDI_BROKER_URL)")
            assert self.intake is not None
            door = AmqpDoor(self.intake, self.settings.amqp_url, config.queue, submitter_id=sid).start()
            self._stoppers.append(door.stop)
            self.listening.append(f"amqp {sid}: queue {config.queue} on {_safe_url(self.settings.amqp_url)}")

    def _jms(self, using: Mapping[str, Submitter]) -> None:
        from connectors.ingest.jms import JmsDoor, JmsRequestQueue

        queues = []
        for sid, submitter in using.items():
            config = submitter.doors.jms if submitter.doors else None
            if config is not None:
                queues.append(JmsRequestQueue(config.queue, submitter_id=sid,
                                              reply_destination=config.reply_destination))
        if not queues:
            return
        if not self.settings.stomp_url:
            raise ValueError("a submitter uses a JMS door: set EDI_DOORS_STOMP_URL (stomp://host:61613)")
        assert self.intake is not None
        door = JmsDoor(self.intake, stomp_endpoint(self.settings.stomp_url), queues).start()
        self._stoppers.append(door.stop)
        for queue in queues:
            self.listening.append(f"jms {queue.submitter_id}: {queue.destination} on "
                                  f"{_safe_url(self.settings.stomp_url)}")


def stomp_endpoint(url: str) -> Any:
    from connectors.ingest.jms import StompEndpoint

    parts = urlsplit(url)
    if parts.scheme not in ("stomp", "tcp") or not parts.hostname:
        raise ValueError("EDI_DOORS_STOMP_URL looks like stomp://[user:password@]host:61613")
    return StompEndpoint(parts.hostname, parts.port or 61613, unquote(parts.username) if parts.username else None,
                         unquote(parts.password) if parts.password else None)


def _safe_url(url: str) -> str:
    """The URL without its credentials, for printing."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path if parts.path != '/' else ''}"

