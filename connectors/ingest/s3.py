"""The S3 door: submitters drop files under ``s3://bucket/<prefix>/inbound/``; answers appear in ``outbound/``.

Objects are found by polling the inbound prefixes or from the bucket's event notifications
delivered through SQS (`configure_notifications` sets that up); both paths end in `S3Door.take`.

S3 has no atomic move, so an object is claimed with a conditional write: a marker object
(``<door_prefix>/claims/<submitter>/<digest of name>/<etag>-<last-modified>``) created with
``If-None-Match: *``. Only one door wins it, a duplicate notification or a second poller finds
it taken, and a door restarted with the same ``door_id`` resumes its own unfinished claims. The
marker is rewritten ``done`` after the Intake returned, and only then is the inbound object
deleted; an object whose marker is ``done`` is never handed over again. The window left: a crash
after the Intake returned and before the marker says ``done`` hands the object over once more
on restart (the Intake sees the same name and content).

The door's own prefix never holds a submitter's object name in plaintext (a name may carry PHI:
``smith_john_19800101.csv``): claims and quarantined objects are filed under its keyed digest
(``edi.lookup``), and log lines name the submitter, never the object.

When the Intake raises (the store is down), the claim stays and the object is retried on the
next poll or SQS redelivery; after ``max_attempts`` the door gives up on that version and says so
in ``NAME.error.json``. Every object taken is answered (``receipts``): ``NAME.receipt.json`` when
all of it was accepted, ``NAME.error.json`` when anything was refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from connectors.ingest.door import Intake, IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.names import safe_name, unsafe_reason
from connectors.ingest.receipts import answer_document, answer_name
from connectors.pgp import PgpPeers
from edi.lookup import LookupKey

__all__ = ["S3Door", "S3ReplySink", "S3Submitter", "configure_notifications", "parse_s3_url"]

log = logging.getLogger(__name__)

Outcome = Literal["taken", "refused", "skipped", "retry"]
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise ValueError("an S3 address looks like s3://bucket/prefix")
    bucket, _, key = url[5:].partition("/")
    return bucket, key.strip("/")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@dataclass(frozen=True, slots=True)
class S3Submitter:
    """A submitter's area in the bucket: ``<prefix>/inbound/`` in, ``<prefix>/outbound/`` out."""

    submitter_id: str
    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ValueError(f"submitter {self.submitter_id!r}: prefix must be like 'submitters/clinic-a'")

    @property
    def inbound(self) -> str:
        return f"{self.prefix}/inbound/"

    @property
    def outbound(self) -> str:
        return f"{self.prefix}/outbound/"


class S3ReplySink:
    """Writes answers as objects under an ``s3://bucket/<prefix>/outbound`` address (a PutObject is atomic)."""

    channel = "s3"

    def __init__(self, client: Any, *, pgp: PgpPeers | None = None, submitters: Iterable[S3Submitter] = ()) -> None:
        self.client = client
        # answers to a submitter with a PGP key are encrypted to it (NAME.pgp); owners by outbound prefix
        self.pgp = pgp
        self._owners = {s.outbound.rstrip("/"): s.submitter_id for s in submitters}
        if pgp is not None and not self._owners:
            raise ValueError("give the submitters: PGP keys are chosen by submitter")

    @staticmethod
    def address(bucket: str, submitter: S3Submitter) -> ReplyAddress:
        return ReplyAddress("s3", f"s3://{bucket}/{submitter.outbound.rstrip('/')}")

    def send(self, address: ReplyAddress, name: str, body: bytes) -> None:
        if address.channel != "s3":
            raise ValueError(f"not an s3 address: {address.channel}")
        bucket, prefix = parse_s3_url(address.target)
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise ValueError("an answer name must be a relative object name")
        content_type = "application/json"
        if self.pgp is not None and self.pgp.configured(self._owners.get(prefix, "")):
            name, body = self.pgp.seal(self._owners[prefix], name, body)
            content_type = "application/pgp-encrypted"
        self.client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body, ContentType=content_type)


class S3Door:
    """Takes submitters' objects from one bucket into the Intake, exactly once per object version.

    `door_id` must stay the same across restarts of one door (it is how a door recognises its own
    unfinished claims); two doors on the same bucket need different ids.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        submitters: Iterable[S3Submitter],
        intake: Intake,
        *,
        door_id: str,
        door_prefix: str = "_edi-door",
        sink: S3ReplySink | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_attempts: int = 5,
        pgp: PgpPeers | None = None,
        lookup_key: LookupKey | None = None,
    ) -> None:
        self.client = client
        self.lookup_key = lookup_key  # names of claims and quarantined objects; None: unkeyed SHA-256 (tests)
        self.bucket = bucket
        self.submitters = list(submitters)
        self.intake = intake
        self.door_id = door_id
        self.door_prefix = door_prefix.strip("/")
        self.sink = sink or S3ReplySink(client, pgp=pgp, submitters=self.submitters)
        self.max_bytes = max_bytes
        self.max_attempts = max_attempts
        for a in self.submitters:
            for b in self.submitters:
                if a is not b and a.inbound.startswith(b.inbound):
                    raise ValueError(f"inbound prefixes overlap: {a.prefix} and {b.prefix}")
            if a.prefix.startswith(self.door_prefix + "/") or a.prefix == self.door_prefix:
                raise ValueError(f"submitter prefix {a.prefix} lies inside the door's own prefix")

    # -- finding objects ---------------------------------------------------------------------------

    def submitter_for(self, key: str) -> S3Submitter | None:
        for submitter in self.submitters:
            if key.startswith(submitter.inbound) and len(key) > len(submitter.inbound) and not key.endswith("/"):
                return submitter
        return None

    def poll_once(self) -> dict[str, Outcome]:
        """List every inbound prefix and take what is there; returns the outcome per key."""
        outcomes: dict[str, Outcome] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for submitter in self.submitters:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=submitter.inbound):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if self.submitter_for(key) is submitter:
                        outcomes[key] = self._take_guarded(submitter, key)
        return outcomes

    def _take_guarded(self, submitter: S3Submitter, key: str) -> Outcome:
        """`take`, with an S3 error on one object costing only that object a retry."""
        try:
            return self.take(submitter, key)
        except ClientError as error:
            log.error("s3 door: %s: S3 error %s; retried later", submitter.submitter_id, _code(error))
            return "retry"

    def consume_once(self, sqs: Any, queue_url: str, *, wait_seconds: int = 1) -> int:
        """Handle one batch of S3 event notifications; a message is deleted only when all its objects are done.

        Returns the number of messages deleted.
        """
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        deleted = 0
        for message in response.get("Messages", []):
            if self._handle_message(message.get("Body", "")):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1
        return deleted

    def _handle_message(self, body: str) -> bool:
        try:
            event = json.loads(body)
            records = event.get("Records", []) if isinstance(event, dict) else None
        except ValueError:
            records = None
        if records is None or not isinstance(records, list):
            # Not an S3 event (or s3:TestEvent): nothing of a submitter's is in it; the object
            # itself, if any, stays in the bucket and the next poll finds it.
            log.warning("s3 door: ignoring a queue message that is not an S3 event notification")
            return True
        done = True
        for record in records:
            try:
                if not str(record["eventName"]).startswith("ObjectCreated"):
                    continue
                bucket = record["s3"]["bucket"]["name"]
                key = unquote_plus(record["s3"]["object"]["key"])
            except (KeyError, TypeError):
                log.warning("s3 door: ignoring a malformed S3 event record")
                continue
            submitter = self.submitter_for(key) if bucket == self.bucket else None
            if submitter is None:
                continue
            if self._take_guarded(submitter, key) == "retry":
                done = False
        return done

    # -- taking one object -------------------------------------------------------------------------

    def _opaque(self, submitter: S3Submitter, name: str) -> str:
        """What the door's own objects call a submitter's object: a digest, never its name."""
        if self.lookup_key is not None:
            return self.lookup_key.digest("s3-object", f"{submitter.submitter_id}\x00{name}")
        return hashlib.sha256(f"{submitter.submitter_id}\x00{name}".encode()).hexdigest()

    def _claim_key(self, submitter: S3Submitter, name: str, version: str) -> str:
        return f"{self.door_prefix}/claims/{submitter.submitter_id}/{self._opaque(submitter, name)}/{version}"

    def _write_claim(self, key: str, state: str, attempts: int, *, create: bool = False) -> bool:
        body = json.dumps({"door": self.door_id, "state": state, "attempts": attempts}).encode()
        extra = {"IfNoneMatch": "*"} if create else {}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        except ClientError as error:
            if create and (_status(error) in (409, 412) or _code(error) in ("PreconditionFailed", "ConditionalRequestConflict")):
                return False
            raise
        return True

    def _read_claim(self, key: str) -> dict[str, Any]:
        return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def take(self, submitter: S3Submitter, key: str) -> Outcome:
        """Claim, hand over and remove one inbound object (see the module docstring for the rules)."""
        name = key[len(submitter.inbound):]
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                return "skipped"  # already taken and removed (a late duplicate notification)
            raise
        etag = head["ETag"].strip('"')
        # The upload's identity: its version id in a versioned bucket (the same for a redelivered
        # notification or a resumed claim, new for every upload). Without versioning the ETag and
        # the second of the upload stand in: the same bytes uploaded again under the same name
        # within one second look like the same upload -- turn versioning on for the inbound bucket.
        version_id = head.get("VersionId")
        if version_id and version_id != "null":
            version = f"v-{version_id}"
        else:
            version = f"{etag}-{int(head['LastModified'].timestamp())}"
        reason = unsafe_reason(name)
        if reason is not None:
            return self._refuse_name(submitter, key, name, reason, etag, version)
        submission_id = f"{self.bucket}/{key}@{version}"
        claim_key = self._claim_key(submitter, name, version)
        attempts = 1
        if not self._write_claim(claim_key, "claimed", attempts, create=True):
            try:
                claim = self._read_claim(claim_key)
            except ClientError as error:
                if _status(error) == 404:
                    return "skipped"  # another door's claim, still being written
                raise
            if claim.get("state") == "done":
                self._delete_if_unchanged(key, etag)
                return "skipped"
            if claim.get("state") != "claimed" or claim.get("door") != self.door_id:
                return "skipped"  # given up on, or another door's
            attempts = int(claim.get("attempts", 0)) + 1
            self._write_claim(claim_key, "claimed", attempts)
        address = self.sink.address(self.bucket, submitter)

        if head["ContentLength"] > self.max_bytes:
            receipt = IntakeReceipt(rejected=[ItemError("file", f"larger than {self.max_bytes} bytes; split it")])
        else:
            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=key, IfMatch=head["ETag"])
            except ClientError as error:
                if _status(error) in (404, 412):
                    return "skipped"  # replaced or removed meanwhile: the new version is claimed on its own
                raise
            submission = Submission(submitter.submitter_id, "s3", name, obj["Body"].read(), address,
                                    content_type=obj.get("ContentType"), submission_id=submission_id)
            try:
                receipt = self.intake(submission)
            except Exception as error:
                log.error("s3 door: intake failed for %s (attempt %d: %s)", submitter.submitter_id, attempts,
                          type(error).__name__)
                if attempts < self.max_attempts:
                    return "retry"
                receipt = IntakeReceipt(rejected=[ItemError(
                    "file", f"could not be taken in after {attempts} attempts; upload it again or contact support")])
                self._answer(address, name, receipt, submission_id)
                self._write_claim(claim_key, "failed", attempts)
                return "refused"
        # Done first: once the Intake returned, a failure further on must not hand the object over again.
        self._write_claim(claim_key, "done", attempts)
        try:
            self._answer(address, name, receipt, submission_id)
        except ClientError as error:
            log.error("s3 door: %s: answer not written (%s)", submitter.submitter_id, _code(error))
        if receipt.refused_whole and head["ContentLength"] <= self.max_bytes:
            self._quarantine(submitter, name, version, submission.content)
        self._delete_if_unchanged(key, etag)
        log.info("s3 door: %s: %d accepted, %d refused", submitter.submitter_id, len(receipt.accepted),
                 len(receipt.rejected))
        return "refused" if receipt.refused_whole else "taken"

    def _quarantine(self, submitter: S3Submitter, name: str, version: str, content: bytes) -> None:
        """Keep a file refused whole under the door's own prefix, out of submitters' reach."""
        key = f"{self.door_prefix}/quarantine/{submitter.submitter_id}/{self._opaque(submitter, name)}/{version}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=content)
        except ClientError as error:
            log.error("s3 door: %s: refused file not kept in quarantine (%s)", submitter.submitter_id, _code(error))

    def _refuse_name(self, submitter: S3Submitter, key: str, name: str, reason: str, etag: str,
                     version: str) -> Outcome:
        """A key below inbound/ that is not a plain file name (``../x``, ``sub/x``): answered under a
        harmless name and moved aside to the door's quarantine, never handed to the Intake."""
        shown = safe_name(name)
        address = self.sink.address(self.bucket, submitter)
        receipt = IntakeReceipt(rejected=[ItemError("file", reason)])
        self._answer(address, shown, receipt, f"{self.bucket}/{key}@{version}")
        self.client.copy_object(Bucket=self.bucket, CopySource={"Bucket": self.bucket, "Key": key},
                                Key=f"{self.door_prefix}/quarantine/{submitter.submitter_id}/"
                                    f"{self._opaque(submitter, name)}-{version}")
        self._delete_if_unchanged(key, etag)
        log.warning("s3 door: %s: refused an object name (%s)", submitter.submitter_id, reason)
        return "refused"

    def _answer(self, address: ReplyAddress, name: str, receipt: IntakeReceipt, submission_id: str) -> None:
        """``NAME.receipt.json`` or ``NAME.error.json``; numbered (``NAME.2.error.json``) when an
        earlier upload of the same name has its answer there still."""
        base = answer_name(name, receipt)
        suffix = ".error.json" if receipt.rejected else ".receipt.json"
        bucket, prefix = parse_s3_url(address.target)
        target = base
        for n in range(2, 1000):
            try:
                self.client.head_object(Bucket=bucket, Key=f"{prefix}/{target}")
            except ClientError as error:
                if _status(error) == 404:
                    break
                raise
            target = f"{base[: -len(suffix)]}.{n}{suffix}"
        self.sink.send(address, target, answer_document(name, receipt, submission_id=submission_id))

    def _delete_if_unchanged(self, key: str, etag: str) -> None:
        """Remove the inbound object unless the submitter replaced it meanwhile (the new one is not ours yet)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                return
            raise
        if head["ETag"].strip('"') == etag:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    # -- running -----------------------------------------------------------------------------------

    def run_polling(self, stop: threading.Event, interval: float = 5.0) -> None:
        """Poll until `stop` is set; an error of one round is logged and the next round tries again."""
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as error:
                log.error("s3 door: poll failed (%s)", type(error).__name__)
            stop.wait(interval)

    def run_sqs(self, sqs: Any, queue_url: str, stop: threading.Event, *, wait_seconds: int = 5) -> None:
        """Consume notifications until `stop` is set, after one poll for objects that arrived unnotified."""
        first = True
        while not stop.is_set():
            try:
                if first:
                    self.poll_once()
                    first = False
                self.consume_once(sqs, queue_url, wait_seconds=wait_seconds)
            except Exception as error:
                log.error("s3 door: notification round failed (%s)", type(error).__name__)
                stop.wait(1.0)


def configure_notifications(s3: Any, sqs: Any, bucket: str, queue_name: str,
                            submitters: Iterable[S3Submitter]) -> str:
    """Create (or reuse) the SQS queue and point the bucket's ObjectCreated events for each inbound prefix at it.

    Replaces the bucket's notification configuration. Returns the queue URL.
    """
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"edi-inbound-{s.submitter_id}",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": s.inbound}]}},
                }
                for s in submitters
            ]
        },
    )
    return queue_url
