"""The S3 door against moto's server through boto3: polling, SQS event notifications, claims, answers.

The pipeline is not needed to prove the door's promises (each object version handed over once,
also with two doors and across restarts; refusals answered in ``outbound/``; the door going on
after bad input), so the Intake is `RecordingIntake`, a test double that keeps what it was given,
refuses contents starting with ``BAD`` and can be told to fail.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from connectors.ingest.door import IntakeReceipt, ItemError, ReplyAddress, Submission
from connectors.ingest.s3 import S3Door, S3ReplySink, S3Submitter, configure_notifications

if TYPE_CHECKING:
    from tests.servers.moto import MotoServer

pytest_plugins = ("tests.servers.moto",)

CLINIC_A = S3Submitter("clinic-a", "submitters/clinic-a")
CLINIC_B = S3Submitter("clinic-b", "submitters/clinic-b")


class RecordingIntake:
    """Test double for the pipeline's Intake: records submissions; refuses BAD...; fails `failures` times."""

    def __init__(self, failures: int = 0) -> None:
        self.submissions: list[Submission] = []
        self.failures = failures
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, submission: Submission) -> IntakeReceipt:
        with self._lock:
            self.calls += 1
            if self.failures:
                self.failures -= 1
                raise RuntimeError("store unavailable")
            self.submissions.append(submission)
        if submission.content.startswith(b"BAD"):
            return IntakeReceipt(rejected=[ItemError("line 1", "not X12 or CSV: no ISA segment, no header row")])
        return IntakeReceipt(accepted=[f"tx-{len(self.submissions)}"])

    def names(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted((s.submitter_id, s.name) for s in self.submissions)


def keys(client: Any, bucket: str, prefix: str) -> list[str]:
    response = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in response.get("Contents", []))


def read_json(client: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def door(client: Any, bucket: str, intake: RecordingIntake, door_id: str = "door-1", **options: Any) -> S3Door:
    return S3Door(client, bucket, [CLINIC_A, CLINIC_B], intake, door_id=door_id, **options)


# -- polling ---------------------------------------------------------------------------------------


def test_polling_hands_each_object_over_once(s3_client: Any, s3_bucket: str) -> None:
    intake = RecordingIntake()
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/a1.x12", Body=b"ISA*a1~")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/a 2.csv", Body=b"claim_id\n2\n")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-b/inbound/b1.x12", Body=b"ISA*b1~")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-b/outbound/old.json", Body=b"{}")
    s3_client.put_object(Bucket=s3_bucket, Key="elsewhere/inbound/x.x12", Body=b"ISA*x~")
    d = door(s3_client, s3_bucket, intake)

    assert set(d.poll_once().values()) == {"taken"}
    assert intake.names() == [("clinic-a", "a 2.csv"), ("clinic-a", "a1.x12"), ("clinic-b", "b1.x12")]
    by_name = {s.name: s for s in intake.submissions}
    assert by_name["a1.x12"].content == b"ISA*a1~" and by_name["a1.x12"].channel == "s3"
    assert by_name["b1.x12"].reply == ReplyAddress("s3", f"s3://{s3_bucket}/submitters/clinic-b/outbound")
    assert keys(s3_client, s3_bucket, "submitters/clinic-a/inbound/") == []
    assert keys(s3_client, s3_bucket, "elsewhere/") == ["elsewhere/inbound/x.x12"]

    assert d.poll_once() == {} and len(intake.submissions) == 3
    # the same name uploaded again later is a new submission
    time.sleep(1.1)  # S3's Last-Modified has one-second resolution
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/a1.x12", Body=b"ISA*a1~")
    assert d.poll_once() == {"submitters/clinic-a/inbound/a1.x12": "taken"}
    assert [s.name for s in intake.submissions].count("a1.x12") == 2


def test_bad_input_is_answered_with_an_error_object_and_the_door_goes_on(s3_client: Any, s3_bucket: str) -> None:
    intake = RecordingIntake()
    d = door(s3_client, s3_bucket, intake, max_bytes=1000)
    stop = threading.Event()
    thread = threading.Thread(target=d.run_polling, args=(stop, 0.1), daemon=True)
    thread.start()
    try:
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/junk.txt", Body=b"BAD data")
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/huge.x12", Body=b"I" * 5000)
        wait_for(lambda: len(keys(s3_client, s3_bucket, "submitters/clinic-a/outbound/")) == 2, "two error objects")
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/good.x12", Body=b"ISA*good~")
        wait_for(lambda: ("clinic-a", "good.x12") in intake.names(), "the good file")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
    junk = read_json(s3_client, s3_bucket, "submitters/clinic-a/outbound/junk.txt.error.json")
    assert junk["name"] == "junk.txt" and junk["accepted"] == []
    assert [(e["item"], e["reason"]) for e in junk["rejected"]] == [
        ("line 1", "not X12 or CSV: no ISA segment, no header row")]
    assert junk["type"] == "error" and junk["submissionId"].startswith(f"{s3_bucket}/submitters/clinic-a/inbound/junk.txt@")
    huge = read_json(s3_client, s3_bucket, "submitters/clinic-a/outbound/huge.x12.error.json")
    assert "larger than 1000 bytes" in huge["rejected"][0]["reason"]
    assert intake.names() == [("clinic-a", "good.x12"), ("clinic-a", "junk.txt")]  # huge never read
    assert keys(s3_client, s3_bucket, "submitters/clinic-a/inbound/") == []


def test_two_doors_never_take_the_same_object(s3_client: Any, s3_bucket: str, moto_server: MotoServer) -> None:
    intake = RecordingIntake()
    for i in range(30):
        s3_client.put_object(Bucket=s3_bucket, Key=f"submitters/clinic-b/inbound/f{i:02}.x12", Body=b"ISA*%d~" % i)
    doors = [door(moto_server.client("s3"), s3_bucket, intake, door_id=f"door-{n}") for n in range(2)]
    barrier = threading.Barrier(2)

    def poll(d: S3Door) -> None:
        barrier.wait()
        d.poll_once()

    threads = [threading.Thread(target=poll, args=(d,)) for d in doors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    counts = Counter(name for _, name in intake.names())
    assert sorted(counts) == [f"f{i:02}.x12" for i in range(30)]
    assert set(counts.values()) == {1}
    assert keys(s3_client, s3_bucket, "submitters/clinic-b/inbound/") == []


def test_a_restarted_door_resumes_its_claim_and_others_keep_off(s3_client: Any, s3_bucket: str) -> None:
    key = "submitters/clinic-a/inbound/r.x12"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"ISA*r~")
    failing = RecordingIntake(failures=1)
    assert door(s3_client, s3_bucket, failing).poll_once() == {key: "retry"}
    assert keys(s3_client, s3_bucket, key) == [key]  # not accepted: still there

    other = RecordingIntake()
    assert door(s3_client, s3_bucket, other, door_id="door-2").poll_once() == {key: "skipped"}
    restarted = RecordingIntake()
    assert door(s3_client, s3_bucket, restarted).poll_once() == {key: "taken"}
    assert restarted.names() == [("clinic-a", "r.x12")] and other.submissions == []
    assert keys(s3_client, s3_bucket, key) == []


class CrashBeforeDelete(S3Door):
    """Test double of a door process that dies right after marking its claim done."""

    def _delete_if_unchanged(self, key: str, etag: str) -> None:
        raise SystemExit("killed")


def test_an_object_marked_done_is_never_handed_over_again(s3_client: Any, s3_bucket: str) -> None:
    key = "submitters/clinic-b/inbound/d.x12"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"ISA*d~")
    intake = RecordingIntake()
    with pytest.raises(SystemExit):
        CrashBeforeDelete(s3_client, s3_bucket, [CLINIC_B], intake, door_id="door-1").poll_once()
    assert keys(s3_client, s3_bucket, key) == [key]
    for door_id in ("door-1", "door-2"):
        assert door(s3_client, s3_bucket, intake, door_id=door_id).poll_once() in ({key: "skipped"}, {})
    assert intake.names() == [("clinic-b", "d.x12")]
    assert keys(s3_client, s3_bucket, key) == []


def test_a_door_gives_up_after_max_attempts_and_says_so(s3_client: Any, s3_bucket: str) -> None:
    key = "submitters/clinic-a/inbound/p.x12"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"ISA*p~")
    intake = RecordingIntake(failures=100)
    d = door(s3_client, s3_bucket, intake, max_attempts=3)
    assert [d.poll_once()[key] for _ in range(3)] == ["retry", "retry", "refused"]
    assert d.poll_once() == {key: "skipped"} and intake.calls == 3
    answer = read_json(s3_client, s3_bucket, "submitters/clinic-a/outbound/p.x12.error.json")
    assert "could not be taken in after 3 attempts" in answer["rejected"][0]["reason"]
    assert keys(s3_client, s3_bucket, key) == [key]  # left for the submitter; nothing deleted unaccepted


def test_reply_sink_writes_under_outbound(s3_client: Any, s3_bucket: str) -> None:
    sink = S3ReplySink(s3_client)
    address = sink.address(s3_bucket, CLINIC_A)
    sink.send(address, "a1.x12.999.json", b'{"ack": "A"}')
    assert read_json(s3_client, s3_bucket, "submitters/clinic-a/outbound/a1.x12.999.json") == {"ack": "A"}
    with pytest.raises(ValueError):
        sink.send(address, "../../clinic-b/outbound/x.json", b"{}")
    with pytest.raises(ValueError):
        sink.send(ReplyAddress("sftp", "/tmp/outbound"), "x.json", b"{}")


# -- SQS notifications -----------------------------------------------------------------------------


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def sqs(moto_server: MotoServer) -> Any:
    return moto_server.client("sqs")


def test_notifications_through_sqs(s3_client: Any, s3_bucket: str, sqs: Any) -> None:
    url = configure_notifications(s3_client, sqs, s3_bucket, f"{s3_bucket}-inbound", [CLINIC_A, CLINIC_B])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    intake = RecordingIntake(failures=1)
    d = door(s3_client, s3_bucket, intake)
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/n1.x12", Body=b"ISA*n1~")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-b/inbound/n2.x12", Body=b"ISA*n2~")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-b/outbound/ignored.json", Body=b"{}")

    bodies: list[str] = []
    original_receive = sqs.receive_message

    def receive(**kwargs: Any) -> dict[str, Any]:  # keep a copy of what was delivered
        response = original_receive(**kwargs)
        bodies.extend(m["Body"] for m in response.get("Messages", []))
        return response

    sqs.receive_message = receive
    deadline = time.monotonic() + 30
    while len(intake.submissions) < 2 and time.monotonic() < deadline:
        d.consume_once(sqs, url, wait_seconds=1)
    # the first Intake call failed: that message came back after its visibility timeout
    assert intake.calls == 3
    assert intake.names() == [("clinic-a", "n1.x12"), ("clinic-b", "n2.x12")]
    wait_for(lambda: queue_depth(sqs, url) == 0, "an empty queue")
    assert keys(s3_client, s3_bucket, "submitters/clinic-a/inbound/") == []

    # a duplicate notification (S3 delivers at least once) hands nothing over again
    [n1_event] = [b for b in bodies if "n1.x12" in b][:1]
    sqs.send_message(QueueUrl=url, MessageBody=n1_event)
    sqs.send_message(QueueUrl=url, MessageBody="not an S3 event")
    wait_for(lambda: d.consume_once(sqs, url, wait_seconds=1) == 0 and queue_depth(sqs, url) == 0, "drained")
    assert intake.calls == 3


def test_sqs_door_answers_bad_input_and_goes_on(s3_client: Any, s3_bucket: str, sqs: Any) -> None:
    url = configure_notifications(s3_client, sqs, s3_bucket, f"{s3_bucket}-in", [CLINIC_A])
    intake = RecordingIntake()
    d = S3Door(s3_client, s3_bucket, [CLINIC_A], intake, door_id="door-1")
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/early.x12", Body=b"ISA*early~")
    sqs.purge_queue(QueueUrl=url)  # as if the notification was never configured for this one
    stop = threading.Event()
    thread = threading.Thread(target=d.run_sqs, args=(sqs, url, stop), kwargs={"wait_seconds": 1}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: ("clinic-a", "early.x12") in intake.names(), "the startup poll")
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/bad.txt", Body=b"BAD")
        wait_for(lambda: keys(s3_client, s3_bucket, "submitters/clinic-a/outbound/"), "the error object")
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic-a/inbound/good.x12", Body=b"ISA*good~")
        wait_for(lambda: ("clinic-a", "good.x12") in intake.names(), "the good file")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(15)
    answer = read_json(s3_client, s3_bucket, "submitters/clinic-a/outbound/bad.txt.error.json")
    assert answer["name"] == "bad.txt" and answer["rejected"][0]["item"] == "line 1"
    assert intake.names() == [("clinic-a", "bad.txt"), ("clinic-a", "early.x12"), ("clinic-a", "good.x12")]
    wait_for(lambda: queue_depth(sqs, url) == 0, "an empty queue")
