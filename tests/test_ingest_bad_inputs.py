"""The bad-input matrix of issue 5 on every door, against the real servers, the real intake and a
real store: each bad input gets a clear error back through its own door, none stops the door (a
good submission right after it is taken), and every transaction any answer called accepted is in
the store. Also: a redelivery is one submission, a deliberate resend of the same bytes a new one.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import stomp
import yaml
from kombu import Connection, Producer, Queue

from connectors.ingest.amqp import AmqpDoor
from connectors.ingest.door import Submission
from connectors.ingest.folder import FolderDoor
from connectors.ingest.intake import PipelineIntake
from connectors.ingest.jms import JmsDoor, JmsRequestQueue, StompEndpoint
from connectors.ingest.s3 import S3Door, S3Submitter
from connectors.ingest.sftp_server import SftpAccount, SftpIngestThread, hash_password
from connectors.pipeline.runtime import open_pipeline
from edi.ingest import Limits, load_mapping
from edi.pipeline import Pipeline
from edi.settings import Settings

pytest_plugins = ("tests.servers.rabbitmq", "tests.servers.activemq", "tests.servers.moto")

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT.parent / "connectors" / "payer_sim" / "sample"
X12_270 = (ROOT / "fixtures" / "x12" / "270_005010X279A1" / "subscriber-health-benefit-check.270").read_bytes()
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
LIMIT = 8_000  # bytes; set small so the oversize case stays small
SUBMITTER = "acme"
PASSWORD = "acme's sftp secret"
WAIT = 60.0


def good(n: int) -> bytes:
    return json.dumps({**ELIGIBILITY, "controlNumber": f"{n:09d}"}).encode()


LATIN1 = ("MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,SEX,SERVICE_DATE\n"
          "SIM00001,J\xd6RG,M\xdcLLER,01/15/1980,Male,2024-05-01\n").encode("latin-1")


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    content: bytes
    reason: str  # a regular expression the answer's reasons must match
    files_only: bool = False


CASES = [
    Case("truncated", "inquiry.x12", X12_270[: len(X12_270) // 2], r"truncated"),
    Case("wrong-encoding", "roster.csv", LATIN1, r"not (valid )?UTF-8"),
    Case("binary", "garbage.csv", bytes(range(256)) * 8, r"binary|not UTF-8"),
    Case("oversize", "big.csv", b"MEMBER_ID,DOB\n" + b"SIM00001,01/15/1980\n" * 500, r"limit|larger than"),
    Case("missing-column", "roster.csv", b"MEMBER_ID,FIRST_NAME,LAST_NAME,SEX\nSIM00001,PAT,DOE,Female\n",
         r"column DOB: the mapped column is missing"),
    Case("not-json", "one.json", b'{"controlNumber": "000000001", "subscriber": {', r"JSON"),
    Case("dot-dot-name", "../../escape.json", good(990), r"path|\.\.|leaves your home", files_only=True),
]
assert len(CASES[3].content) > LIMIT


@dataclass
class Answer:
    status: str  # accepted / partial / rejected
    text: str  # every reason, joined
    accepted: list[str]
    document: dict[str, Any] | None = None


def from_document(body: bytes | str) -> Answer:
    doc = json.loads(body)
    assert doc["type"] in ("receipt", "error") and doc["status"] in ("accepted", "partial", "rejected")
    assert doc["type"] == ("error" if doc["status"] == "rejected" else "receipt")
    return Answer(doc["status"], " | ".join(e["text"] for e in doc["rejected"]), list(doc["accepted"]), doc)


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    pipe = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), create_key=True)
    yield pipe
    pipe.repository.engine.dispose()


@pytest.fixture
def intake(pipeline: Pipeline) -> PipelineIntake:
    mapping = yaml.safe_load((ROOT / "fixtures" / "ingest" / "roster-csv.yaml").read_text())
    mapping["match"] = "*"  # message ids have no .csv to match
    return PipelineIntake(pipeline, {SUBMITTER: [load_mapping(mapping)]}, limits=Limits(max_bytes=LIMIT))


# -- one harness per door: submit(name, content) -> the answer that came back through the door -------


class FolderHarness:
    def __init__(self, tmp_path: Path, intake: PipelineIntake, **_: Any) -> None:
        self.door = FolderDoor({SUBMITTER: tmp_path / "folder"}, intake, settle_seconds=0, use_watchdog=False,
                               max_bytes=LIMIT)
        self.layout = self.door.layouts[SUBMITTER]
        self.seen: set[str] = set()

    def submit(self, name: str, content: bytes, **_: Any) -> Answer:
        if "/" in name:  # a folder cannot hold a '/' in a name: the Windows spelling of the same climb
            name = name.replace("/", "\\")
        (self.layout.inbound / name).write_bytes(content)
        for _ in range(3):
            self.door.scan_once()
        new = [p for p in self.layout.outbound.iterdir() if p.name not in self.seen]
        assert len(new) == 1, [p.name for p in new]
        self.seen.add(new[0].name)
        return from_document(new[0].read_bytes())

    def close(self) -> None:
        pass


class SftpHarness:
    def __init__(self, tmp_path: Path, intake: PipelineIntake, **_: Any) -> None:
        account = SftpAccount(SUBMITTER, SUBMITTER, hash_password(PASSWORD))
        self.thread = SftpIngestThread(tmp_path / "homes", [account], intake, host_key_path=tmp_path / "host_key",
                                       max_bytes=LIMIT)
        self.server = self.thread.start()
        self.seen: set[str] = set()

    def submit(self, name: str, content: bytes, **_: Any) -> Answer:
        async def run() -> Answer:
            async with asyncssh.connect(
                self.server.host, self.server.port, username=SUBMITTER, password=PASSWORD,
                known_hosts=asyncssh.import_known_hosts(self.server.known_hosts_line()),
                client_keys=[], preferred_auth=("password",), agent_path=None, config=None,
            ) as conn, conn.start_sftp_client() as sftp:
                try:
                    async with sftp.open(f"/inbound/{name}", "wb") as handle:
                        await handle.write(content)
                except asyncssh.SFTPError as error:  # refused while writing or on close
                    return Answer("rejected", str(error.reason), [])
                new = [n for n in await sftp.listdir("/outbound") if n not in (".", "..") and n not in self.seen]
                assert len(new) == 1, new
                self.seen.add(new[0])
                async with sftp.open(f"/outbound/{new[0]}", "rb") as handle:
                    return from_document(await handle.read())

        return asyncio.run(run())

    def close(self) -> None:
        self.thread.stop()


class S3Harness:
    def __init__(self, tmp_path: Path, intake: PipelineIntake, *, s3_client: Any, s3_bucket: str, **_: Any):
        self.client, self.bucket = s3_client, s3_bucket
        # versioned: every upload has an id of its own, even the same bytes under the same name
        s3_client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
        self.area = S3Submitter(SUBMITTER, f"submitters/{SUBMITTER}")
        self.door = S3Door(s3_client, s3_bucket, [self.area], intake, door_id="bad-inputs", max_bytes=LIMIT)
        self.seen: set[str] = set()

    def submit(self, name: str, content: bytes, **_: Any) -> Answer:
        self.client.put_object(Bucket=self.bucket, Key=self.area.inbound + name, Body=content)
        self.door.poll_once()
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.area.outbound).get("Contents", [])
        new = [o["Key"] for o in listed if o["Key"] not in self.seen]
        assert new, "no answer for the upload"
        assert len(new) == 1, new
        self.seen.add(new[0])
        answer = from_document(self.client.get_object(Bucket=self.bucket, Key=new[0])["Body"].read())
        inbound = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.area.inbound).get("Contents", [])
        assert inbound == []  # taken or refused, never left to block the door
        return answer

    def close(self) -> None:
        pass


class AmqpHarness:
    def __init__(self, tmp_path: Path, intake: PipelineIntake, *, rabbitmq_url: str, **_: Any) -> None:
        tag = uuid.uuid4().hex[:10]
        self.requests, self.replies = f"edi.requests.{tag}", f"client.replies.{tag}"
        self.connection = Connection(rabbitmq_url, transport_options={"confirm_publish": True})
        channel = self.connection.channel()
        for queue in (self.requests, self.replies):
            Queue(queue, durable=True)(channel).declare()
        self.producer = Producer(channel)
        self.reply_queue = Queue(self.replies, durable=True)(channel)
        self.door = AmqpDoor(intake, rabbitmq_url, self.requests, submitter_id=SUBMITTER, backoff_initial=0.05,
                             backoff_max=0.5).start()
        wait_for(self.door.connected.is_set, "the AMQP door to consume")

    def submit(self, name: str, content: bytes, *, message_id: str | None = None) -> Answer:
        correlation = uuid.uuid4().hex
        self.producer.publish(content, exchange="", routing_key=self.requests, content_type="application/octet-stream",
                              content_encoding="binary", delivery_mode="persistent", reply_to=self.replies,
                              correlation_id=correlation, message_id=message_id or f"{name}-{uuid.uuid4().hex[:8]}")
        message = wait_for(lambda: self.reply_queue.get(no_ack=True), "the AMQP reply")
        assert message.properties["correlation_id"] == correlation
        return from_document(message.body)

    def close(self) -> None:
        self.door.stop()
        self.connection.release()


class JmsHarness(stomp.ConnectionListener):
    def __init__(self, tmp_path: Path, intake: PipelineIntake, *, activemq_server: Any, **_: Any) -> None:
        tag = uuid.uuid4().hex[:10]
        self.requests, self.replies = f"/queue/edi.requests.{tag}", f"/queue/client.replies.{tag}"
        self.frames: list = []
        self.connection = stomp.Connection12([activemq_server.stomp_address], auto_decode=False)
        self.connection.set_listener("peer", self)
        self.connection.connect(wait=True)
        self.connection.subscribe(self.replies, id="replies", ack="auto")
        self.door = JmsDoor(intake, StompEndpoint(*activemq_server.stomp_address),
                            [JmsRequestQueue(self.requests, submitter_id=SUBMITTER)],
                            dead_letter=f"/queue/edi.requests.{tag}.DLQ", backoff_initial=0.05,
                            backoff_max=0.5).start()
        wait_for(self.door.connected.is_set, "the JMS door to consume")

    def on_message(self, frame) -> None:
        self.frames.append(frame)

    def submit(self, name: str, content: bytes, **_: Any) -> Answer:
        correlation = uuid.uuid4().hex
        self.connection.send(self.requests, content, headers={"persistent": "true", "reply-to": self.replies,
                                                              "correlation-id": correlation})
        frame = wait_for(lambda: next((f for f in self.frames if f.headers.get("correlation-id") == correlation),
                                      None), "the JMS reply")
        return from_document(frame.body)

    def close(self) -> None:
        self.door.stop()
        self.connection.disconnect()


HARNESSES: dict[str, type] = {"folder": FolderHarness, "sftp": SftpHarness, "s3": S3Harness, "amqp": AmqpHarness,
                              "jms": JmsHarness}
FILE_DOORS = ("folder", "sftp", "s3")
SERVERS = {"s3": ("s3_client", "s3_bucket"), "amqp": ("rabbitmq_url",), "jms": ("activemq_server",)}


@pytest.fixture
def open_door(request: pytest.FixtureRequest, tmp_path: Path, intake: PipelineIntake) -> Iterator[Callable]:
    opened: list[Any] = []

    def open_(kind: str) -> Any:
        servers = {name: request.getfixturevalue(name) for name in SERVERS.get(kind, ())}
        harness = HARNESSES[kind](tmp_path, intake, **servers)
        opened.append(harness)
        return harness

    yield open_
    for harness in opened:
        harness.close()


def stored_ids(pipeline: Pipeline, ids: list[str]) -> list[str]:
    return [pipeline.repository.require(tid, submitter_id=SUBMITTER).id for tid in ids]


MATRIX = [pytest.param(door, case, id=f"{door}-{case.id}")
          for door in HARNESSES for case in CASES if door in FILE_DOORS or not case.files_only]


@pytest.mark.parametrize(("door", "case"), MATRIX)
def test_bad_input_is_answered_and_the_door_goes_on(open_door, pipeline: Pipeline, door: str, case: Case) -> None:
    harness = open_door(door)
    accepted = harness.submit("before.json", good(1)).accepted
    assert len(accepted) == 1

    answer = harness.submit(case.name, case.content)
    assert answer.status == "rejected" and answer.accepted == []
    assert re.search(case.reason, answer.text, re.IGNORECASE), answer.text
    assert "M\ufffdLLER" not in answer.text and "SIM00001" not in answer.text  # no content in the answer

    after = harness.submit("after.json", good(2))  # the door still takes a good submission
    assert after.status == "accepted" and len(after.accepted) == 1
    accepted += after.accepted
    assert stored_ids(pipeline, accepted) == accepted  # nothing accepted is lost


@pytest.mark.parametrize("door", FILE_DOORS)
def test_a_duplicate_file_name_is_a_second_submission_with_its_own_answer(open_door, pipeline: Pipeline,
                                                                          door: str) -> None:
    harness = open_door(door)
    first = harness.submit("same.json", good(1))
    second = harness.submit("same.json", good(2))  # same name, new content: both kept, both answered
    third = harness.submit("same.json", good(1))  # same name and bytes as the first, sent again on purpose
    ids = first.accepted + second.accepted + third.accepted
    assert len(ids) == len(set(ids)) == 3
    assert stored_ids(pipeline, ids) == ids
    assert len({a.document["submissionId"] for a in (first, second, third)}) == 3


def test_amqp_duplicate_message_id_with_other_content_is_refused(open_door, pipeline: Pipeline) -> None:
    harness = open_door("amqp")
    first = harness.submit("m", good(1), message_id="dup-1")
    clash = harness.submit("m", good(2), message_id="dup-1")
    assert clash.status == "rejected" and "submission id was used before" in clash.text
    after = harness.submit("after.json", good(3))
    assert after.status == "accepted"
    assert stored_ids(pipeline, first.accepted + after.accepted) == first.accepted + after.accepted


def test_amqp_redelivery_is_one_submission_a_resend_is_a_new_one(open_door, pipeline: Pipeline) -> None:
    harness = open_door("amqp")
    first = harness.submit("m", good(1), message_id="order-1")
    redelivered = harness.submit("m", good(1), message_id="order-1")  # what a broker redelivery looks like
    resent = harness.submit("m", good(1), message_id="order-2")  # the submitter sends it again on purpose
    assert redelivered.accepted == first.accepted
    assert resent.accepted != first.accepted and len(resent.accepted) == 1
    assert stored_ids(pipeline, first.accepted + resent.accepted) == first.accepted + resent.accepted


def test_folder_reclaimed_file_is_one_submission_a_resend_is_a_new_one(tmp_path: Path, intake: PipelineIntake,
                                                                       pipeline: Pipeline) -> None:
    first: list[str] = []

    def crash_after_intake(submission: Submission) -> Any:
        first.extend(intake(submission).accepted)  # stored; then the door dies before moving the file
        raise SystemError("door killed (test)")

    crashed = FolderDoor({SUBMITTER: tmp_path / "folder"}, crash_after_intake, settle_seconds=0, use_watchdog=False)
    (crashed.layouts[SUBMITTER].inbound / "roster.json").write_bytes(good(1))
    for _ in range(3):
        crashed.scan_once()
    assert len(first) == 1 and len(list(crashed.layouts[SUBMITTER].work.iterdir())) == 1  # left in work/

    harness = FolderHarness(tmp_path, intake)  # the door restarted: it takes work/ in again first
    harness.door.scan_once()
    recovered = from_document(next(harness.layout.outbound.iterdir()).read_bytes())
    assert recovered.accepted == first  # the same claim id: the same transaction, nothing twice
    harness.seen.update(p.name for p in harness.layout.outbound.iterdir())
    resent = harness.submit("roster.json", good(1))  # dropped again on purpose: a new claim, a new transaction
    assert len(resent.accepted) == 1 and resent.accepted != first
    assert stored_ids(pipeline, first + resent.accepted) == first + resent.accepted


def test_doors_do_not_stop_under_a_run_of_bad_inputs(open_door, pipeline: Pipeline) -> None:
    """All the bad inputs back to back on a running message door, then a good one."""
    harness = open_door("amqp")
    for case in CASES:
        if not case.files_only:
            assert harness.submit(case.name, case.content).status == "rejected"
    assert harness.door.connected.is_set() and threading.active_count() > 1
    last = harness.submit("last.json", good(7))
    assert stored_ids(pipeline, last.accepted) == last.accepted
