"""Every door end to end, and seeded PHI nowhere at rest.

A request goes in through the REST API and through each ingest door; each door's receipt and
then the 271 (as JSON) come back through that same door: files in the folder's and the SFTP
home's outbound/, objects under the S3 outbound/ prefix, messages on the AMQP and JMS reply queues.

A unique name, member id and date of birth (and a claim's patient control number, CLM01) go in
through the REST API and each ingest door (watched folder, SFTP, S3, AMQP, JMS) while the whole
pipeline runs with the payer simulator and logs at DEBUG through ``edi.logs``. They go in the
names too, as submitters do (``smith_john_19800101_MBR123.csv``): the dropped file names, the S3
object key, the AMQP message id and reply queue, the JMS correlation id -- and the SFTP account
answers in the ``jsonl`` layout, whose answer file is named after the upload. Afterwards the log
output, the database file and every file under the data directory (the encrypted payload store,
the embedded broker's database, the lookup key's digests, the SFTP door's answer bookkeeping and
quarantine), the watched folder's ``archive/``, ``work/`` and ``quarantine/`` and the S3 door's own
prefix are searched for those strings, in contents and in names: none may appear. Not scanned:
the submitters' own mailboxes -- the watched folder's ``outbound/`` and the SFTP homes'
``inbound/`` and ``outbound/`` -- where answers are delivered for the submitter to fetch, named
after their files (encrypted there only for a submitter with a PGP key; ``edi purge`` removes
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
PHI_NAME = f"{LAST}_{FIRST}_{DOB}_{MEMBER}"  # what submitters name their files after


def dropped(n: int) -> str:
    """A file name (or message id) made of the patient's name, date of birth and member id."""
    return f"{PHI_NAME}_{n}.json"


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


def replies_queue_name(tag: str) -> str:
    return f"clinic.replies.{MEMBER}.{tag}"  # a reply queue named after the member: kept sealed too


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
    (drop / "inbound" / dropped(2)).write_bytes(request(2))
    server = doors.sftp_server

    async def upload() -> None:
        async with asyncssh.connect(server.host, server.port, username="clinic", password=PASSWORD,
                                    known_hosts=asyncssh.import_known_hosts(server.known_hosts_line()),
                                    client_keys=[], preferred_auth=("password",), agent_path=None,
                                    config=None) as conn, conn.start_sftp_client() as sftp, \
                sftp.open(f"/inbound/{dropped(3)}", "wb") as handle:
            await handle.write(request(3))

    asyncio.run(upload())
    s3_client.put_object(Bucket=s3_bucket, Key=f"submitters/clinic/inbound/{dropped(4)}", Body=request(4))
    with Connection(rabbitmq_url) as connection:
        channel = connection.channel()
        Queue(replies_queue_name(tag), durable=True)(channel).declare()
        Producer(channel).publish(request(5), exchange="", routing_key=f"clinic.requests.{tag}",
                                  reply_to=replies_queue_name(tag), message_id=f"{dropped(5)}-{tag}",
                                  correlation_id=f"{PHI_NAME}-amqp", content_type="application/json")
    jms_frames: list[Any] = []
    peer = stomp.Connection12([activemq_server.stomp_address], auto_decode=False)
    peer.set_listener("replies", type("L", (stomp.ConnectionListener,),
                                      {"on_message": lambda _self, frame: jms_frames.append(frame)})())
    peer.connect(wait=True)
    peer.subscribe(f"/queue/clinic.replies.{tag}", id="r", ack="auto")
    peer.send(f"/queue/clinic.requests.{tag}", request(6),
              headers={"persistent": "true", "correlation-id": f"{PHI_NAME}-jms"})

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
    homes = data_dir / "doors" / "sftp"
    answers["sftp"] = [json.loads(p.read_text()) for p in homes.glob("*/outbound/*.json")]
    # the jsonl layout: the answers are lines of one file named after the upload
    (lines,) = homes.glob(f"*/outbound/{dropped(3)}.responses.jsonl")
    answers["sftp"] += [json.loads(line)["document"] for line in lines.read_text().splitlines()]
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="submitters/clinic/outbound/")
    answers["s3"] = [json.loads(s3_client.get_object(Bucket=s3_bucket, Key=o["Key"])["Body"].read())
                     for o in listed.get("Contents", [])]
    with Connection(rabbitmq_url) as connection:
        replies_queue = Queue(replies_queue_name(tag), durable=True)(connection.channel())
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
        "sftp": {"username": "clinic", "password_hash": hash_password(PASSWORD), "answers": "jsonl"},
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
    assert not _hits(logs.encode()), "PHI in the logs:\n" + "\n".join(line for line in logs.splitlines() if _hits(line.encode()))[:4000]
    scanned = 0
    homes = data_dir / "doors" / "sftp"

    def mailbox(path: Path) -> bool:  # an SFTP home's inbound/ or outbound/: the submitter's own
        return path.parent.name in ("inbound", "outbound") and path.parent.parent.parent == homes

    ours = [p for p in data_dir.rglob("*") if not mailbox(p)]
    ours += [p for folder in ("archive", "work", "quarantine") for p in (tmp_path / "drop" / folder).rglob("*")]
    for path in sorted(ours):
        shown = path.relative_to(tmp_path)
        assert not _hits(path.name.encode()), f"PHI in a name of ours: {shown}"
        if path.is_file():
            assert not _hits(path.read_bytes()), f"PHI in plaintext in {shown}"
            scanned += 1
    assert (data_dir / "edi.db").is_file() and scanned > 10
    assert [p for p in homes.rglob("*") if ".staging" in p.parts and p.is_file()], "the jsonl bookkeeping was not scanned"
    # The watched folder's archive is ours, not the submitter's: taken-in files are kept encrypted
    archived = [p for p in (tmp_path / "drop" / "archive").rglob("*") if p.is_file()]
    assert len(archived) == 1 and archived[0].name.endswith(".enc"), archived
    assert not [p for p in (tmp_path / "drop" / "work").rglob("*") if p.is_file()]
    # The S3 door's own prefix (its claims) knows objects by digest only
    door_objects = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="_edi-door/").get("Contents", [])
    assert door_objects, "the S3 door kept no claim: the scan would prove nothing"
    for item in door_objects:
        assert not _hits(item["Key"].encode()), f"PHI in an S3 door key: {item['Key']}"
        assert not _hits(s3_client.get_object(Bucket=s3_bucket, Key=item["Key"])["Body"].read()), item["Key"]
