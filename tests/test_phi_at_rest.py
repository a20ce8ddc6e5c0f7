"""Every door end to end, and seeded PHI nowhere at rest.

A request goes in through the REST API and through each ingest door; each door's receipt and
then the 271 (as JSON) come back through that same door: files in the folder's and the SFTP
home's outbound/, objects under the S3 outbound/ prefix, messages on the AMQP and JMS reply queues.

A unique name, member id and date of birth (and a claim's patient control number, CLM01) go in
through the REST API and each ingest door (watched folder, SFTP, S3, AMQP, JMS) while the whole
pipeline runs with the payer simulator and logs at DEBUG through ``edi.logs``. Afterwards the log
output, the database file and every file under the data directory (the encrypted payload store,
the embedded broker's database, the lookup key's digests) and the watched folder's ``archive/``
are searched for those strings: none may appear. Not scanned: the submitters' own mailboxes -- the
watched folder's ``outbound/`` and the SFTP door's homes -- where answers are delivered for the
submitter to fetch (encrypted there only for a submitter with a PGP key; ``edi purge`` removes
them once fetched or old).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import asyncssh
import boto3
import httpx
import stomp
from kombu import Connection, Producer, Queue

from connectors.api import create_app
from connectors.ingest.sftp_server import hash_password
from edi.logs import configure_logging
from edi.store import ALL_SUBMITTERS, TransactionFilter
from tests.door_journeys import DoorStack, door_stack
from tests.servers.http import serve

pytest_plugins = ("tests.servers.rabbitmq", "tests.servers.activemq", "tests.servers.moto")

SAMPLE = Path(__file__).resolve().parent.parent / "connectors" / "payer_sim" / "sample"
LAST, FIRST, MEMBER, DOB = "QZXWVPHILAST", "QZXWVPHIFIRST", "QZX7788990011", "19710304"
CLM01 = "QZXCLM01PCN77"  # a patient control number: stored only as a keyed digest (edi.lookup)
SEEDED = (LAST, FIRST, MEMBER, DOB, CLM01)
PASSWORD = "door password for the phi test"


def request(n: int) -> bytes:
    data = json.loads((SAMPLE / "eligibility.json").read_text())
    data["controlNumber"] = f"{n:09d}"
    data["subscriber"] = {"memberId": MEMBER, "firstName": FIRST, "lastName": LAST, "dateOfBirth": DOB}
    return json.dumps(data).encode()


def claim() -> bytes:
    data = json.loads((SAMPLE / "claim.json").read_text())
    data["claimInformation"]["patientControlNumber"] = CLM01
    return json.dumps(data).encode()


def wait_for(predicate: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _hits(blob: bytes) -> list[str]:
    return [s for s in SEEDED if s.encode() in blob or s.encode("utf-16-le") in blob]


def _through_every_door(stack: DoorStack, drop: Path, tag: str, rabbitmq_url: str, activemq_server: Any,
                        s3_client: Any, s3_bucket: str) -> dict[str, list[Any]]:
    """A request in by the API and by each door; what came back through each, once all finished."""
    pipeline, config, doors, data_dir = stack.pipeline, stack.config, stack.doors, stack.data_dir
    app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline)
    with serve(app) as url:
        answer = httpx.post(f"{url}/eligibility", content=request(1), timeout=60,
                            headers={"Authorization": f"Bearer {config.api_key}",
                                     "Content-Type": "application/json"})
        assert answer.status_code in (200, 202), answer.text
        claimed = httpx.post(f"{url}/claims", content=claim(), timeout=60,
                             headers={"Authorization": f"Bearer {config.api_key}",
                                      "Content-Type": "application/json"})
        assert claimed.status_code == 202, claimed.text
    (drop / "inbound" / "two.json").write_bytes(request(2))
    server = doors.sftp_server

    async def upload() -> None:
        async with asyncssh.connect(server.host, server.port, username="clinic", password=PASSWORD,
                                    known_hosts=asyncssh.import_known_hosts(server.known_hosts_line()),
                                    client_keys=[], preferred_auth=("password",), agent_path=None,
                                    config=None) as conn, conn.start_sftp_client() as sftp, \
                sftp.open("/inbound/three.json", "wb") as handle:
            await handle.write(request(3))

    asyncio.run(upload())
    s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic/inbound/four.json", Body=request(4))
    with Connection(rabbitmq_url) as connection:
        channel = connection.channel()
        Queue(f"clinic.replies.{tag}", durable=True)(channel).declare()
        Producer(channel).publish(request(5), exchange="", routing_key=f"clinic.requests.{tag}",
                                  reply_to=f"clinic.replies.{tag}", message_id=f"m-{tag}",
                                  content_type="application/json")
    jms_frames: list[Any] = []
    peer = stomp.Connection12([activemq_server.stomp_address], auto_decode=False)
    peer.set_listener("replies", type("L", (stomp.ConnectionListener,),
                                      {"on_message": lambda _self, frame: jms_frames.append(frame)})())
    peer.connect(wait=True)
    peer.subscribe(f"/queue/clinic.replies.{tag}", id="r", ack="auto")
    peer.send(f"/queue/clinic.requests.{tag}", request(6), headers={"persistent": "true"})

    def finished() -> bool:
        items = list(pipeline.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS),
                                                            limit=100).items)
        return len(items) >= 7 and all(t.terminal for t in items)

    try:
        wait_for(finished, "all seven requests to finish")
    except AssertionError:
        items = pipeline.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=100).items
        raise AssertionError(f"not finished: {[(t.state.value, t.reply_to) for t in items]}") from None
    # Each door's answer came back through it: its receipt, then the 271 JSON.
    answers = {"api": [answer.json()]}
    answers["folder"] = [json.loads(p.read_text()) for p in (drop / "outbound").glob("*.json")]
    answers["sftp"] = [json.loads(p.read_text())
                       for p in (data_dir / "doors" / "sftp").glob("*/outbound/*.json")]
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="submitters/clinic/outbound/")
    answers["s3"] = [json.loads(s3_client.get_object(Bucket=s3_bucket, Key=o["Key"])["Body"].read())
                     for o in listed.get("Contents", [])]
    with Connection(rabbitmq_url) as connection:
        replies_queue = Queue(f"clinic.replies.{tag}", durable=True)(connection.channel())
        answers["amqp"] = []
        while (message := replies_queue.get(no_ack=True)) is not None:
            answers["amqp"].append(json.loads(message.body))
    wait_for(lambda: len(jms_frames) >= 2, "the JMS receipt and answer", 30)
    answers["jms"] = [json.loads(frame.body) for frame in jms_frames]
    peer.disconnect()
    return answers


def test_every_door_answers_through_itself_and_leaves_no_phi_at_rest(
        tmp_path: Path, rabbitmq_url: str, activemq_server: Any, moto_server: Any, s3_client: Any,
        s3_bucket: str) -> None:
    log_output = io.StringIO()
    configure_logging(logging.DEBUG, stream=log_output, service="phi-test")
    tag = uuid.uuid4().hex[:8]
    data_dir = tmp_path / "data"
    doors = {
        "folder": {"root": str(tmp_path / "drop"), "settle_seconds": 0, "poll_interval_seconds": 0.2},
        "sftp": {"username": "clinic", "password_hash": hash_password(PASSWORD)},
        "s3": {"bucket": s3_bucket, "prefix": "submitters/clinic", "poll_interval_seconds": 0.5},
        "amqp": {"queue": f"clinic.requests.{tag}"},
        "jms": {"queue": f"/queue/clinic.requests.{tag}", "reply_destination": f"/queue/clinic.replies.{tag}"},
    }
    host, port = activemq_server.stomp_address
    env = {"EDI_S3_ENDPOINT_URL": moto_server.endpoint_url, "EDI_DOORS_AMQP_URL": rabbitmq_url,
           "EDI_DOORS_STOMP_URL": f"stomp://{host}:{port}", "EDI_DOORS_ID": tag}
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    try:
        with door_stack(tmp_path, doors=doors, env=env, boto_session=session, window_seconds=0.5) as stack:
            answers = _through_every_door(stack, tmp_path / "drop", tag, rabbitmq_url, activemq_server, s3_client, s3_bucket)
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if h.get_name() != "edi-json"]

    for door, documents in answers.items():
        types = sorted(d.get("type", "") for d in documents)
        expected = ["eligibility.response"] if door == "api" else ["eligibility.response", "receipt"]
        assert types == expected, (door, types)
        (response,) = [d for d in documents if d.get("type") == "eligibility.response"]
        body = response["data"]["response"] if "data" in response else response["response"]  # the API: inline
        assert body["subscriber"]["memberId"] == MEMBER, door  # the 271 for this request, via this door

    logs = log_output.getvalue()
    assert logs, "the pipeline logged nothing at DEBUG: the scan would prove nothing"
    assert not _hits(logs.encode()), "PHI in the logs"
    scanned = 0
    mailboxes = data_dir / "doors"  # the SFTP door's homes: answers wait there for the submitter to fetch
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file() and mailboxes not in p.parents):
        assert not _hits(path.read_bytes()), f"PHI in plaintext in {path.relative_to(data_dir)}"
        scanned += 1
    assert (data_dir / "edi.db").is_file() and scanned > 10
    # The watched folder's archive is ours, not the submitter's: taken-in files are kept encrypted
    archived = [p for p in (tmp_path / "drop" / "archive").rglob("*") if p.is_file()]
    assert len(archived) == 1 and archived[0].name.endswith(".enc"), archived
    assert not _hits(archived[0].read_bytes()), "PHI in plaintext in the folder door's archive"
    assert not [p for p in (tmp_path / "drop" / "work").rglob("*") if p.is_file()]
