"""A submitter's requests go in by a door and the answers come back out through that same door.

One test per door, on the whole pipeline (the embedded default with the payer simulator, the
door runner configured from the partners file and the environment as ``edi doors`` is): an
eligibility request and a batch of claims go in; the door's receipts name the transactions, and
then the 271 and each claim's 999, 277CA and (for paid claims) 835 come back through the door --
exactly those, each about its own request (``door_journeys.check_answers``), and nothing more
once the pipeline says every transaction is delivered.

* watched folder and SFTP: files in ``inbound/``, answers in ``outbound/``;
* S3: objects under ``<prefix>/inbound/``, answers under ``<prefix>/outbound/``, read with boto3;
  the door found by polling, and by the bucket's event notifications through SQS;
* AMQP: messages with ``reply_to`` and ``correlation_id``, answers on the reply queue;
* JMS: a Java JMS client sends ``TextMessage``s with ``JMSReplyTo`` and ``JMSCorrelationID`` and
  reads every answer from its reply queue.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from kombu import Connection, Producer, Queue

from connectors.ingest.s3 import S3Submitter, configure_notifications
from connectors.pipeline.sample import SUBMITTER_ID
from tests.door_journeys import (
    DOOR_PASSWORD,
    DoorStack,
    check_answers,
    claims_array,
    claims_jsonl,
    door_stack,
    eligibility,
    owed,
)
from tests.jms_client import JavaSubmitter, StompPeer
from tests.test_pipeline_e2e import ACCEPTED, BATCH

pytest_plugins = ("tests.servers.rabbitmq", "tests.servers.activemq", "tests.servers.moto")

TIMEOUT = 120.0
TRANSACTIONS = 1 + len(BATCH)  # the eligibility request and the claims
RECEIPTS = {"elig.json": "elig.json.receipt.json", "claims.jsonl": "claims.jsonl.receipt.json"}


def _answers_through_files(stack: DoorStack, read: Callable[[], Mapping[str, Any]]) -> None:
    """Wait for the receipts, then for everything owed and the pipeline done; read once more and
    check: the receipts and exactly the answers owed."""
    deadline, found, due = time.monotonic() + TIMEOUT, dict(read()), None
    while time.monotonic() < deadline:
        if due is None and set(RECEIPTS.values()) <= set(found):
            due = owed(found[RECEIPTS["elig.json"]], found[RECEIPTS["claims.jsonl"]])
        if due is not None and due.names() <= set(found) and stack.all_delivered(TRANSACTIONS):
            break
        time.sleep(0.3)
        found = dict(read())
    assert due is not None, f"no receipts; found {sorted(found)}"
    assert stack.all_delivered(TRANSACTIONS), stack.undelivered()
    found = dict(read())  # all delivered: nothing more is coming
    check_answers(due, {name: doc for name, doc in found.items() if name not in RECEIPTS.values()})


def test_folder_door_answers_land_in_the_outbound_folder(tmp_path: Path) -> None:
    with door_stack(tmp_path) as stack:
        root = stack.config.folder_root
        assert root is not None
        (root / "inbound" / "elig.json").write_bytes(eligibility())
        (root / "inbound" / "claims.jsonl").write_bytes(claims_jsonl())

        def read() -> dict[str, Any]:
            outbound = root / "outbound"
            return {p.name: json.loads(p.read_text()) for p in outbound.glob("*.json")} if outbound.exists() else {}

        _answers_through_files(stack, read)


def test_sftp_door_answers_land_in_the_outbound_folder(tmp_path: Path) -> None:
    with door_stack(tmp_path) as stack:
        server = stack.doors.sftp_server
        known_hosts = asyncssh.import_known_hosts(server.known_hosts_line())

        async def session(work: Any) -> Any:
            async with asyncssh.connect("127.0.0.1", server.port, username=SUBMITTER_ID, password=DOOR_PASSWORD,
                                        known_hosts=known_hosts, client_keys=[], agent_path=None,
                                        config=None) as conn, conn.start_sftp_client() as sftp:
                return await work(sftp)

        async def upload(sftp: Any) -> None:
            for name, data in (("elig.json", eligibility()), ("claims.jsonl", claims_jsonl())):
                async with sftp.open(f"/inbound/{name}", "wb") as f:
                    await f.write(data)

        async def fetch(sftp: Any) -> dict[str, Any]:
            out = {}
            for name in await sftp.listdir("/outbound"):
                if name.endswith(".json"):
                    async with sftp.open(f"/outbound/{name}", "rb") as f:
                        out[name] = json.loads(await f.read())
            return out

        asyncio.run(session(upload))
        _answers_through_files(stack, lambda: asyncio.run(session(fetch)))


# -- S3 ----------------------------------------------------------------------------------------------

PREFIX = "submitters/clinic"


def _s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> dict[str, str]:
    """The doors' S3 settings as ``edi doors`` reads them; credentials the AWS way, from the environment."""
    from tests.servers.moto import CREDENTIALS

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    return {"EDI_S3_ENDPOINT_URL": endpoint, "EDI_S3_REGION": CREDENTIALS["region_name"],
            "EDI_DOORS_ID": f"door-{uuid.uuid4().hex[:8]}"}


def _s3_outbound(s3: Any, bucket: str) -> Callable[[], dict[str, Any]]:
    def read() -> dict[str, Any]:
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PREFIX}/outbound/"):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"].rsplit("/", 1)[1]] = json.loads(body)
        return found

    return read


def _inbound(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/inbound/").get("Contents", [])]


def test_s3_door_polling_answers_land_under_the_outbound_prefix(
        tmp_path: Path, moto_server: Any, s3_client: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _s3_env(monkeypatch, moto_server.endpoint_url)
    doors = {"s3": {"bucket": s3_bucket, "prefix": PREFIX, "poll_interval_seconds": 0.5}}
    with door_stack(tmp_path, doors=doors, env=env) as stack:
        assert any(line.startswith("s3: polling") for line in stack.doors.listening), stack.doors.listening
        s3_client.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/inbound/elig.json", Body=eligibility())
        s3_client.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/inbound/claims.jsonl", Body=claims_jsonl())
        _answers_through_files(stack, _s3_outbound(s3_client, s3_bucket))
    assert _inbound(s3_client, s3_bucket) == []  # taken


def test_s3_door_notified_through_sqs_answers_land_under_the_outbound_prefix(
        tmp_path: Path, moto_server: Any, s3_client: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _s3_env(monkeypatch, moto_server.endpoint_url)
    sqs = moto_server.client("sqs")
    queue = f"{s3_bucket}-events"
    url = configure_notifications(s3_client, sqs, s3_bucket, queue, [S3Submitter(SUBMITTER_ID, PREFIX)])
    # Before the door starts: only its start-up sweep can take this one (its notification waits).
    s3_client.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/inbound/elig.json", Body=eligibility())
    doors = {"s3": {"bucket": s3_bucket, "prefix": PREFIX, "sqs_queue": queue}}
    with door_stack(tmp_path, doors=doors, env=env) as stack:
        assert any(f"notified through SQS queue {queue}" in line for line in stack.doors.listening)
        read = _s3_outbound(s3_client, s3_bucket)
        deadline = time.monotonic() + TIMEOUT
        while RECEIPTS["elig.json"] not in read() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert RECEIPTS["elig.json"] in read(), "the start-up sweep did not take the early object"
        # The sweep has listed the inbound prefix: from now on only a notification brings an object in.
        s3_client.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/inbound/claims.jsonl", Body=claims_jsonl())
        _answers_through_files(stack, read)

        def pending() -> int:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            return sum(int(v) for v in attributes.values())

        deadline = time.monotonic() + TIMEOUT
        while pending() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert pending() == 0  # every notification handled and deleted
    assert _inbound(s3_client, s3_bucket) == []


# -- message doors -----------------------------------------------------------------------------------

CLAIM_REPLIES = 1 + 2 * len(BATCH) + len(ACCEPTED)  # the receipt, 999 and 277CA each, 835 for the paid


def _check_message_answers(elig: list[tuple[str, dict]], claims: list[tuple[str, dict]]) -> None:
    """Each request's replies (name, body), all carrying its correlation id: its receipt, then its own
    answers only -- the 271 for the eligibility request, the claims' 999s, 277CAs and 835s."""
    receipts = {}
    for which, replies in (("elig", elig), ("claims", claims)):
        (receipt,) = [body for _name, body in replies if body["type"] == "receipt"]
        receipts[which] = receipt
    due = owed(receipts["elig"], receipts["claims"])
    assert {name for name, body in elig if body["type"] != "receipt"} == due.names([due.eligibility_id])
    assert {name for name, body in claims if body["type"] != "receipt"} == due.names(due.claims)
    answers = [(name, body) for name, body in elig + claims if body["type"] != "receipt"]
    assert len(answers) == due.count  # none twice
    check_answers(due, dict(answers))


def test_amqp_door_answers_arrive_on_the_reply_queue(tmp_path: Path, rabbitmq_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    requests, replies = f"clinic.requests.{tag}", f"clinic.replies.{tag}"
    with door_stack(tmp_path, doors={"amqp": {"queue": requests}}, env={"EDI_DOORS_AMQP_URL": rabbitmq_url}) as stack, \
            Connection(rabbitmq_url) as connection:
        channel = connection.channel()
        reply_queue = Queue(replies, durable=True)(channel)
        reply_queue.declare()
        producer = Producer(channel)
        for correlation, body in ((f"elig-{tag}", eligibility()), (f"claims-{tag}", claims_array())):
            producer.publish(body, exchange="", routing_key=requests, reply_to=replies, correlation_id=correlation,
                             message_id=f"m-{correlation}", content_type="application/json")

        got: list[Any] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            while (message := reply_queue.get(no_ack=True)) is not None:
                got.append(message)
            if len(got) >= 2 + CLAIM_REPLIES and stack.all_delivered(TRANSACTIONS):
                break
            time.sleep(0.3)
        assert stack.all_delivered(TRANSACTIONS), stack.undelivered()
        while (message := reply_queue.get(no_ack=True)) is not None:  # all delivered: nothing more is coming
            got.append(message)

    by_correlation: dict[str, list[tuple[str, dict]]] = {}
    for message in got:
        assert message.content_type == "application/json"
        body = json.loads(message.body)
        name = message.headers["x-edi-name"]
        by_correlation.setdefault(message.properties["correlation_id"], []).append((name, body))
    assert set(by_correlation) == {f"elig-{tag}", f"claims-{tag}"}, set(by_correlation)
    _check_message_answers(by_correlation[f"elig-{tag}"], by_correlation[f"claims-{tag}"])


def test_jms_door_answers_arrive_at_the_java_clients_reply_queue(
        tmp_path: Path, activemq_server: Any, java_client: list[str]) -> None:
    tag = uuid.uuid4().hex[:8]
    requests, replies = f"clinic.requests.{tag}", f"clinic.replies.{tag}"
    host, port = activemq_server.stomp_address
    doors = {"jms": {"queue": f"/queue/{requests}"}}
    with door_stack(tmp_path, doors=doors, env={"EDI_DOORS_STOMP_URL": f"stomp://{host}:{port}"}) as stack:
        java = {
            which: JavaSubmitter(java_client, activemq_server, tmp_path / f"java-{which}", request_queue=requests,
                                 reply_queue=replies, correlation_id=f"{which}-{tag}", body=body, replies=count,
                                 timeout=TIMEOUT)
            for which, body, count in (("elig", eligibility(), 2), ("claims", claims_array(), CLAIM_REPLIES))
        }
        results = {which: submitter.finish() for which, submitter in java.items()}
        deadline = time.monotonic() + TIMEOUT
        while not stack.all_delivered(TRANSACTIONS) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert stack.all_delivered(TRANSACTIONS), stack.undelivered()
        peer = StompPeer(activemq_server)
        try:
            assert peer.browse(f"/queue/{replies}") == []  # nothing more than the clients read
        finally:
            peer.close()

    named: dict[str, list[tuple[str, dict]]] = {}
    for which, (sent, lines, bodies) in results.items():
        assert [line[1:3] for line in lines] == [["TextMessage", f"{which}-{tag}"]] * len(lines)
        assert lines[0][3] == sent and bodies[0]["type"] == "receipt"  # the receipt first, named by the JMSMessageID
        named[which] = [(line[3], body) for line, body in zip(lines, bodies, strict=True)]
    _check_message_answers(named["elig"], named["claims"])
