"""The JMS door on a real ActiveMQ broker, with a real Java JMS client as the submitter.

The submitter is ``tests/java/JmsRequestReply.java``, compiled here with ``javac`` against the
ActiveMQ client jars of the Debian package: it sends a ``TextMessage`` with ``JMSReplyTo`` and
``JMSCorrelationID`` over OpenWire and reads the answers with a correlation-id selector, so these
tests show the JMS headers surviving the trip through STOMP and back. Bodies a Java client cannot
send (binary noise) go in over STOMP. ``RecordingIntake`` is a test double for the pipeline's
intake: these tests are about the door (acks, replies, dead letters, redelivery), not the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from connectors.ingest.door import IntakeReceipt, ItemError, ReplyAddress
from connectors.ingest.jms import JmsDoor, JmsReplySink, JmsRequestQueue, StompEndpoint
from tests.ingest_doubles import RecordingIntake, wait_for
from tests.jms_client import JavaSubmitter, StompPeer

if TYPE_CHECKING:
    from tests.servers.activemq import ActiveMQServer

pytest_plugins = ("tests.servers.activemq",)

X12 = (b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240101*1200*^*00501*"
       b"000000001*0*T*:~GS*HC*SUB*REC*20240101*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~")


@pytest.fixture
def peer(activemq_server: ActiveMQServer) -> Iterator[StompPeer]:
    client = StompPeer(activemq_server)
    yield client
    client.close()


@pytest.fixture
def names() -> dict[str, str]:
    """Fresh queue names: tests share the session broker."""
    tag = uuid.uuid4().hex[:10]
    return {"requests": f"edi.requests.{tag}", "replies": f"edi.replies.{tag}", "dlq": f"edi.dlq.{tag}"}


@pytest.fixture
def run_door(activemq_server: ActiveMQServer) -> Iterator[Callable[..., JmsDoor]]:
    doors: list[JmsDoor] = []

    def start(intake, queues, *, server: ActiveMQServer = activemq_server, **options) -> JmsDoor:
        options.setdefault("backoff_initial", 0.1)
        options.setdefault("backoff_max", 1.0)
        door = JmsDoor(intake, StompEndpoint(*server.stomp_address, heartbeat_ms=2000), queues, **options)
        doors.append(door.start())
        wait_for(door.connected.is_set, "the door to subscribe")
        return door

    yield start
    for door in doors:
        door.stop()


def test_java_request_is_stored_acked_and_answered_with_its_correlation_id(
        activemq_server, java_client, run_door, names, peer, tmp_path):
    intake = RecordingIntake()
    door = run_door(intake, [JmsRequestQueue(f"/queue/{names['requests']}")], dead_letter=f"/queue/{names['dlq']}")
    correlation = f"corr-{uuid.uuid4().hex}"
    java = JavaSubmitter(java_client, activemq_server, tmp_path, request_queue=names["requests"],
                         reply_queue=names["replies"], correlation_id=correlation, body=X12, replies=2,
                         edi_submitter="acme")
    wait_for(lambda: door.stored == 1, "the door to store the request")
    (submission,) = intake.calls
    assert submission.submitter_id == "acme"
    assert submission.channel == "jms"
    assert submission.content == X12
    assert submission.content_type == "application/edi-x12"
    assert submission.reply == ReplyAddress("jms", f"/queue/{names['replies']}", correlation)

    # a later answer, sent by the pipeline through the door's sink to the recorded address
    sink = JmsReplySink(StompEndpoint(*activemq_server.stomp_address))
    try:
        sink.send(submission.reply, "271-answer", b'{"type": "271", "eligible": true}')
    finally:
        sink.close()

    sent, replies, bodies = java.finish()
    assert submission.name == sent  # the JMSMessageID names the submission
    assert [reply[1:] for reply in replies] == [["TextMessage", correlation, sent],
                                                ["TextMessage", correlation, "271-answer"]]
    assert bodies[0] == {"type": "receipt", "name": sent, "submissionId": sent, "status": "accepted",
                         "accepted": [f"txn-{sent}"], "rejected": []}
    assert submission.submission_id == sent
    assert bodies[1] == {"type": "271", "eligible": True}
    assert peer.browse(f"/queue/{names['requests']}") == []  # acked
    assert peer.browse(f"/queue/{names['dlq']}") == []


def test_reply_to_a_temporary_queue_on_a_per_submitter_queue(activemq_server, java_client, run_door, names, tmp_path):
    intake = RecordingIntake()
    run_door(intake, [JmsRequestQueue(f"/queue/{names['requests']}", submitter_id="clinic-7")])
    correlation = "c-" + uuid.uuid4().hex
    java = JavaSubmitter(java_client, activemq_server, tmp_path, request_queue=names["requests"],
                         reply_queue="temp", correlation_id=correlation, body=b'{"claims": []}', replies=1,
                         edi_submitter="someone-else")
    sent, replies, bodies = java.finish()
    (submission,) = intake.calls
    assert submission.submitter_id == "clinic-7"  # the queue names the submitter, not a header
    assert submission.content_type == "application/json"
    assert "temp-queue" in submission.reply.target
    assert replies == [["1", "TextMessage", correlation, sent]]
    assert bodies[0]["accepted"] == [f"txn-{sent}"]


def test_request_refused_whole_gets_an_error_reply_and_goes_to_the_dead_letter_queue(
        activemq_server, java_client, run_door, names, peer, tmp_path):
    intake = RecordingIntake(receipt=lambda s: IntakeReceipt(rejected=[
        ItemError("ST 0001", "NM1*IL member id missing", field="NM109")]))
    door = run_door(intake, [JmsRequestQueue(f"/queue/{names['requests']}", submitter_id="acme")],
                    dead_letter=f"/queue/{names['dlq']}")
    correlation = "refused-" + uuid.uuid4().hex
    java = JavaSubmitter(java_client, activemq_server, tmp_path, request_queue=names["requests"],
                         reply_queue=names["replies"], correlation_id=correlation, body=X12, replies=1)
    sent, replies, bodies = java.finish()
    assert replies == [["1", "TextMessage", correlation, sent]]
    assert bodies[0]["status"] == "rejected"
    assert [(e["item"], e["reason"], e["field"]) for e in bodies[0]["rejected"]] == [
        ("ST 0001", "NM1*IL member id missing", "NM109")]

    wait_for(lambda: door.dead_lettered == 1, "the dead letter")
    (dead,) = peer.browse(f"/queue/{names['dlq']}")
    assert dead.body == X12
    assert dead.headers["edi_reject_reason"] == "ST 0001: NM1*IL member id missing"
    assert dead.headers["edi_original_message_id"] == sent
    assert dead.headers["edi_original_destination"] == f"/queue/{names['requests']}"
    assert dead.headers["correlation-id"] == correlation
    assert peer.browse(f"/queue/{names['requests']}") == []


def test_undecodable_and_unattributed_messages_are_dead_lettered_and_the_door_keeps_consuming(
        run_door, names, peer):
    intake = RecordingIntake()
    requests, dlq, replies = (f"/queue/{names[key]}" for key in ("requests", "dlq", "replies"))
    door = run_door(intake, [JmsRequestQueue(requests)], dead_letter=dlq)

    peer.send(requests, b"\xff\xfe\x00\x01binary", **{"reply-to": replies, "correlation-id": "bin-1",
                                                       "edi_submitter": "acme"})
    peer.send(requests, b'{"claims": [', **{"reply-to": replies, "correlation-id": "json-1",
                                           "edi_submitter": "acme"})
    peer.send(requests, X12, **{"correlation-id": "nobody-1"})  # no submitter, no reply-to
    peer.send(requests, X12, **{"reply-to": replies, "correlation-id": "good-1", "edi_submitter": "acme"})

    wait_for(lambda: door.dead_lettered == 3 and door.stored == 1, "three dead letters and one stored request")
    assert [call.reply.correlation_id for call in intake.calls] == ["good-1"]  # poison never reached the intake

    dead = {frame.headers["correlation-id"]: frame for frame in peer.browse(dlq)}
    assert set(dead) == {"bin-1", "json-1", "nobody-1"}
    assert dead["bin-1"].body == b"\xff\xfe\x00\x01binary"
    assert "not UTF-8" in dead["bin-1"].headers["edi_reject_reason"]
    assert "not valid JSON" in dead["json-1"].headers["edi_reject_reason"]
    assert "edi_submitter" in dead["nobody-1"].headers["edi_reject_reason"]

    answers = {frame.headers["correlation-id"]: json.loads(frame.body) for frame in peer.receive(replies, 3)}
    assert set(answers) == {"bin-1", "json-1", "good-1"}  # the one without reply-to gets none
    assert answers["bin-1"]["type"] == "error"
    assert "not UTF-8" in answers["bin-1"]["rejected"][0]["reason"]
    assert answers["good-1"]["status"] == "accepted"
    assert peer.browse(requests) == []


def test_a_queue_reply_destination_answers_requests_without_reply_to(run_door, names, peer):
    intake = RecordingIntake()
    requests, replies = f"/queue/{names['requests']}", f"/queue/{names['replies']}"
    door = run_door(intake, [JmsRequestQueue(requests, submitter_id="acme", reply_destination=replies)])
    peer.send(requests, X12, **{"correlation-id": "no-reply-to"})
    wait_for(lambda: door.stored == 1, "the request to be stored")
    assert intake.calls[0].reply == ReplyAddress("jms", replies, "no-reply-to")
    (receipt,) = peer.receive(replies, 1)
    assert receipt.headers["correlation-id"] == "no-reply-to"
    assert json.loads(receipt.body)["accepted"] == [f"txn-{intake.calls[0].name}"]


def test_intake_failure_leaves_the_message_to_be_redelivered(run_door, names, peer):
    intake = RecordingIntake(failures=2)
    requests = f"/queue/{names['requests']}"
    door = run_door(intake, [JmsRequestQueue(requests, submitter_id="acme")], dead_letter=f"/queue/{names['dlq']}")
    peer.send(requests, X12, **{"correlation-id": "retry-1"})
    wait_for(lambda: door.stored == 1, "the request to be stored on the third delivery")
    assert len(intake.calls) == 3
    assert len({call.name for call in intake.calls}) == 1  # the same message each time
    assert door.dead_lettered == 0
    assert peer.browse(requests) == []


def test_intake_failing_for_ever_dead_letters_the_message_instead_of_stalling_the_queue(run_door, names, peer):
    intake = RecordingIntake(failures=1_000)
    requests, dlq = f"/queue/{names['requests']}", f"/queue/{names['dlq']}"
    door = run_door(intake, [JmsRequestQueue(requests, submitter_id="acme")], dead_letter=dlq,
                    max_intake_failures=3)
    peer.send(requests, X12, **{"correlation-id": "stuck-1"})
    wait_for(lambda: door.dead_lettered == 1, "the dead letter")
    assert len(intake.calls) == 3
    (dead,) = peer.browse(dlq)
    assert "could not store it (ConnectionError) after 3 attempts" in dead.headers["edi_reject_reason"]
    assert peer.browse(requests) == []


KILLED_DOOR = """
import sys, threading
from pathlib import Path
from typing import TYPE_CHECKING
from connectors.ingest.door import IntakeReceipt
from connectors.ingest.jms import JmsDoor, JmsRequestQueue, StompEndpoint

host, port, destination, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])

def intake(submission):
    marker.write_text(submission.name)
    threading.Event().wait()  # killed here: after the intake got the message, before the ack

JmsDoor(intake, StompEndpoint(host, port), [JmsRequestQueue(destination, submitter_id="acme")]).run()
"""


def test_consumer_killed_before_its_ack_leaves_the_message_to_the_next_consumer(
        activemq_server, run_door, names, peer, tmp_path):
    requests = f"/queue/{names['requests']}"
    marker = tmp_path / "received"
    victim = subprocess.Popen([sys.executable, "-c", KILLED_DOOR, *map(str, activemq_server.stomp_address),
                               requests, str(marker)], env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        peer.send(requests, X12, **{"correlation-id": "killed-1"})
        wait_for(marker.exists, "the doomed door to receive the message")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
    first_name = marker.read_text()

    intake = RecordingIntake()
    door = run_door(intake, [JmsRequestQueue(requests, submitter_id="acme")], dead_letter=f"/queue/{names['dlq']}")
    wait_for(lambda: door.stored == 1, "the redelivered request to be stored")
    (submission,) = intake.calls
    assert submission.name == first_name
    assert submission.content == X12
    assert submission.reply.correlation_id == "killed-1"
    assert peer.browse(requests) == []


def test_door_reconnects_after_the_broker_is_killed_and_loses_nothing(names):
    from tests.servers.activemq import start_activemq

    with start_activemq() as server:
        intake = RecordingIntake()
        requests = f"/queue/{names['requests']}"
        door = JmsDoor(intake, StompEndpoint(*server.stomp_address, heartbeat_ms=1000),
                       [JmsRequestQueue(requests, submitter_id="acme")], backoff_initial=0.1, backoff_max=0.5)
        door.start()
        try:
            wait_for(door.connected.is_set, "the door to subscribe")
            server.restart(hard=True)
            sender = StompPeer(server)
            try:
                sender.send(requests, X12, **{"correlation-id": "after-restart"})
            finally:
                sender.close()
            wait_for(lambda: door.stored == 1, "the door to reconnect and store the request")
            assert [call.reply.correlation_id for call in intake.calls] == ["after-restart"]
        finally:
            door.stop()
