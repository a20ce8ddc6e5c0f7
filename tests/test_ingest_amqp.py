"""The AMQP door on the private RabbitMQ node: request/reply with ``reply_to`` and
``correlation_id``, dead letters with reasons, acks only after the intake, redelivery after a
consumer dies, reconnection after the broker dies. ``RecordingIntake`` is a test double for the
pipeline's intake: these tests are about the door, not the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kombu import Connection, Consumer, Producer, Queue

from connectors.ingest.amqp import REASON_HEADER, AmqpDoor, AmqpReplySink
from connectors.ingest.door import IntakeReceipt, ItemError, ReplyAddress, Submission
from tests.ingest_doubles import WAIT, RecordingIntake, wait_for

pytest_plugins = ("tests.servers.rabbitmq",)

X12 = (b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240101*1200*^*00501*"
       b"000000001*0*T*:~GS*HS*SUB*REC*20240101*1200*1*X*005010X279A1~ST*270*0001*005010X279A1~")
CSV = b"member_id,first_name,last_name,date_of_birth\nM1,A,B,19800101\n"


class Submitter:
    """A submitter's AMQP client: declares its reply queue, publishes requests, reads replies."""

    def __init__(self, url: str, request_queue: str, reply_queue: str) -> None:
        self.connection = Connection(url, transport_options={"confirm_publish": True})
        self.channel = self.connection.channel()
        self.request_queue = request_queue
        self.reply_queue = reply_queue
        Queue(request_queue, durable=True)(self.channel).declare()
        Queue(reply_queue, durable=True)(self.channel).declare()
        self.producer = Producer(self.channel)

    def publish(self, body: bytes, *, queue: str | None = None, **properties) -> None:
        self.producer.publish(body, exchange="", routing_key=queue or self.request_queue,
                              content_type=properties.pop("content_type", "application/octet-stream"),
                              content_encoding="binary", delivery_mode="persistent", **properties)

    def take(self, queue: str, count: int) -> list:
        """``count`` messages from ``queue`` (acked), in arrival order."""
        bound = Queue(queue, durable=True)(self.channel)
        taken: list = []

        def got_all() -> bool:
            message = bound.get(no_ack=True)
            if message is not None:
                taken.append(message)
            return len(taken) >= count

        wait_for(got_all, f"{count} message(s) on {queue}")
        return taken

    def depth(self, queue: str) -> int:
        return Queue(queue, durable=True)(self.channel).queue_declare(passive=True).message_count

    def close(self) -> None:
        self.connection.release()


@pytest.fixture
def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"requests": f"edi.requests.{tag}", "replies": f"client.replies.{tag}", "dlq": f"edi.requests.{tag}.dlq"}


@pytest.fixture
def submitter(rabbitmq_url, names) -> Iterator[Submitter]:
    client = Submitter(rabbitmq_url, names["requests"], names["replies"])
    yield client
    client.close()


@pytest.fixture
def run_door(rabbitmq_url, names) -> Iterator[Callable[..., AmqpDoor]]:
    doors: list[AmqpDoor] = []

    def start(intake, **options) -> AmqpDoor:
        options.setdefault("backoff_initial", 0.05)
        options.setdefault("backoff_max", 0.5)
        door = AmqpDoor(intake, options.pop("url", rabbitmq_url), names["requests"], **options)
        doors.append(door.start())
        wait_for(door.connected.is_set, "the door to consume")
        return door

    yield start
    for door in doors:
        door.stop()


def test_request_gets_its_receipt_and_later_answer_on_reply_to_with_its_correlation_id(
        rabbitmq_url, run_door, submitter, names):
    intake = RecordingIntake()
    door = run_door(intake)
    submitter.publish(X12, reply_to=names["replies"], correlation_id="corr-1", message_id="msg-1",
                      headers={"x-edi-submitter": "acme"})
    wait_for(lambda: door.stored == 1, "the door to store the request")
    (submission,) = intake.calls
    assert submission == Submission(
        submitter_id="acme", channel="amqp", name="msg-1", content=X12,
        reply=ReplyAddress("amqp", names["replies"], "corr-1"), content_type="application/edi-x12",
        submission_id=f"{names['requests']}/msg-1")

    sink = AmqpReplySink(rabbitmq_url)
    try:
        sink.send(submission.reply, "271-answer", b'{"type": "271", "eligible": true}')
    finally:
        sink.close()

    receipt, answer = submitter.take(names["replies"], 2)
    assert receipt.properties["correlation_id"] == "corr-1"
    assert receipt.content_type == "application/json"
    assert json.loads(receipt.body) == {"type": "receipt", "name": "msg-1", "status": "accepted",
                                        "submissionId": f"{names['requests']}/msg-1",
                                        "accepted": ["txn-msg-1"], "rejected": []}
    assert answer.properties["correlation_id"] == "corr-1"
    assert answer.headers["x-edi-name"] == "271-answer"
    assert json.loads(answer.body) == {"type": "271", "eligible": True}
    assert submitter.depth(names["requests"]) == 0
    assert submitter.depth(names["dlq"]) == 0


def test_submitter_from_the_queue_or_the_authenticated_user_id(run_door, submitter, names):
    intake = RecordingIntake()
    door = run_door(intake, trust_user_id=True)
    submitter.publish(CSV, user_id="guest", headers={"x-edi-submitter": "someone-else"})
    wait_for(lambda: door.stored == 1, "the first request")
    door.stop()
    door = run_door(intake, submitter_id="clinic-7")
    submitter.publish(b'{"inquiries": []}', content_type="application/json")
    wait_for(lambda: door.stored == 1, "the second request")

    first, second = intake.calls
    assert first.submitter_id == "guest"  # RabbitMQ vouches for user_id; the header is ignored
    assert first.content_type == "text/csv"
    assert first.name.startswith("sha256-")  # no message_id: a digest of the body, stable on redelivery
    assert first.reply == ReplyAddress("amqp", "", None)
    assert second.submitter_id == "clinic-7"
    assert second.content_type == "application/json"


def test_poison_goes_to_the_dead_letter_queue_with_its_reason_and_the_door_keeps_consuming(
        run_door, submitter, names):
    refuse = ItemError("ST 0001", "not a 270", field=None)
    intake = RecordingIntake(receipt=lambda s: IntakeReceipt(rejected=[refuse]) if s.name == "refused"
                             else IntakeReceipt(accepted=["t-good"]))
    door = run_door(intake)
    replies, acme = names["replies"], {"x-edi-submitter": "acme"}
    submitter.publish(b"\x89PNG\r\n\x1a\n\x00\x00", reply_to=replies, correlation_id="c-bin", message_id="bin",
                      headers=acme)
    submitter.publish(b'{"inquiries": [', content_type="application/json", reply_to=replies,
                      correlation_id="c-json", message_id="json", headers=acme)
    submitter.publish(b"just some words", reply_to=replies, correlation_id="c-text", message_id="text",
                      headers=acme)
    submitter.publish(X12, correlation_id="c-anon", message_id="anon")  # no submitter, no reply_to
    submitter.publish(X12, reply_to=replies, correlation_id="c-refused", message_id="refused", headers=acme)
    submitter.publish(X12, reply_to=replies, correlation_id="c-good", message_id="good", headers=acme)

    wait_for(lambda: door.dead_lettered == 5 and door.stored == 1, "five dead letters and one stored request")
    assert [call.name for call in intake.calls] == ["refused", "good"]  # the rest never reached the intake

    dead = {message.properties["message_id"]: message for message in submitter.take(names["dlq"], 5)}
    assert set(dead) == {"bin", "json", "text", "anon", "refused"}
    assert dead["bin"].body == b"\x89PNG\r\n\x1a\n\x00\x00"  # as it arrived
    assert "not UTF-8" in dead["bin"].headers[REASON_HEADER]
    assert "not valid JSON" in dead["json"].headers[REASON_HEADER]
    assert "neither JSON, X12" in dead["text"].headers[REASON_HEADER]
    assert "x-edi-submitter" in dead["anon"].headers[REASON_HEADER]
    assert dead["refused"].headers[REASON_HEADER] == "ST 0001: not a 270"
    assert dead["refused"].properties["correlation_id"] == "c-refused"
    assert dead["refused"].headers["x-edi-original-queue"] == names["requests"]

    answers = {m.properties["correlation_id"]: json.loads(m.body) for m in submitter.take(replies, 5)}
    assert set(answers) == {"c-bin", "c-json", "c-text", "c-refused", "c-good"}  # c-anon had no reply_to
    assert answers["c-bin"]["type"] == "error" and answers["c-bin"]["status"] == "rejected"
    assert [(e["item"], e["reason"]) for e in answers["c-refused"]["rejected"]] == [("ST 0001", "not a 270")]
    assert answers["c-good"]["accepted"] == ["t-good"]
    assert submitter.depth(names["requests"]) == 0


def test_intake_failure_requeues_the_message_until_it_is_stored(run_door, submitter, names):
    intake = RecordingIntake(failures=2)
    door = run_door(intake, submitter_id="acme")
    submitter.publish(X12, message_id="retry-1")
    wait_for(lambda: door.stored == 1, "the request to be stored on the third delivery")
    assert [call.name for call in intake.calls] == ["retry-1"] * 3
    assert door.dead_lettered == 0
    assert submitter.depth(names["requests"]) == 0


def test_intake_failing_for_ever_dead_letters_instead_of_stalling_the_queue(run_door, submitter, names):
    intake = RecordingIntake(failures=1_000)
    door = run_door(intake, submitter_id="acme", max_intake_failures=3)
    submitter.publish(X12, message_id="stuck-1")
    wait_for(lambda: door.dead_lettered == 1, "the dead letter")
    assert len(intake.calls) == 3
    (dead,) = submitter.take(names["dlq"], 1)
    assert "could not store it (ConnectionError) after 3 attempts" in dead.headers[REASON_HEADER]
    assert submitter.depth(names["requests"]) == 0


KILLED_DOOR = """
import sys, threading
from pathlib import Path
from connectors.ingest.amqp import AmqpDoor

url, queue, marker = sys.argv[1], sys.argv[2], Path(sys.argv[3])

def intake(submission):
    marker.write_text(submission.name)
    threading.Event().wait()  # killed here: after the intake got the message, before the ack

AmqpDoor(intake, url, queue, submitter_id="acme").run()
"""


def test_consumer_killed_before_its_ack_leaves_the_message_to_the_next_consumer(
        rabbitmq_url, run_door, submitter, names, tmp_path):
    marker = tmp_path / "received"
    victim = subprocess.Popen([sys.executable, "-c", KILLED_DOOR, rabbitmq_url, names["requests"], str(marker)],
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        submitter.publish(X12, message_id="killed-1", correlation_id="c-killed")
        wait_for(marker.exists, "the doomed door to receive the message")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
    assert marker.read_text() == "killed-1"

    intake = RecordingIntake()
    door = run_door(intake, submitter_id="acme")
    wait_for(lambda: door.stored == 1, "the redelivered request to be stored")
    (submission,) = intake.calls
    assert (submission.name, submission.content, submission.reply.correlation_id) == ("killed-1", X12, "c-killed")
    assert submitter.depth(names["requests"]) == 0


def test_rabbitmq_direct_reply_to_gets_the_receipt(rabbitmq_url, run_door, names):
    """``amq.rabbitmq.reply-to``: the client consumes its pseudo-queue without a reply queue of its
    own; the door answers from another connection to the name RabbitMQ put in ``reply_to``."""
    intake = RecordingIntake()
    door = run_door(intake, submitter_id="acme")
    got: list = []
    with Connection(rabbitmq_url) as connection:
        channel = connection.channel()
        Queue(names["requests"], durable=True)(channel).declare()
        with Consumer(channel, queues=[Queue("amq.rabbitmq.reply-to", no_declare=True)], no_ack=True,
                      on_message=got.append):
            Producer(channel).publish(X12, exchange="", routing_key=names["requests"], content_type="text/plain",
                                      reply_to="amq.rabbitmq.reply-to", correlation_id="c-direct")
            deadline = time.monotonic() + WAIT
            while not got and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=0.5)
    assert got, "no reply on amq.rabbitmq.reply-to"
    (reply,) = got
    assert reply.properties["correlation_id"] == "c-direct"
    assert json.loads(reply.body)["accepted"] == [f"txn-{intake.calls[0].name}"]
    assert intake.calls[0].reply.target.startswith("amq.rabbitmq.reply-to.")
    assert door.stored == 1


def test_door_reconnects_after_the_broker_is_killed_and_loses_nothing(rabbitmq_server, rabbitmq_url, run_door,
                                                                       names):
    intake = RecordingIntake()
    door = run_door(intake, submitter_id="acme")
    rabbitmq_server.restart(hard=True)
    wait_for(door.connected.is_set, "the door to reconnect")
    client = Submitter(rabbitmq_url, names["requests"], names["replies"])
    try:
        client.publish(X12, message_id="after-restart", reply_to=names["replies"], correlation_id="c-restart")
        wait_for(lambda: door.stored == 1, "the request sent after the restart")
        (reply,) = client.take(names["replies"], 1)
        assert reply.properties["correlation_id"] == "c-restart"
    finally:
        client.close()
    assert [call.name for call in intake.calls] == ["after-restart"]
