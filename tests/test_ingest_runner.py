"""The doors as configured in a partners file and started by ``DoorRunner``: one submitter on every
door (the real RabbitMQ, ActiveMQ, moto and SFTP servers, a real folder), one intake, one store;
each door takes a request and answers it. Also the ``DoorSettings`` environment and the sample
configuration ``edi run`` uses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import boto3
import pytest
import stomp
import yaml
from kombu import Connection, Producer, Queue

from connectors.ingest.runner import DoorRunner, stomp_endpoint
from connectors.ingest.sftp_server import hash_password
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from edi.partners import PartnersConfigError, load_partners, parse_partners
from edi.pipeline import Pipeline
from edi.settings import DoorSettings, Settings
from tests.servers.children import stop

pytest_plugins = ("tests.servers.rabbitmq", "tests.servers.activemq", "tests.servers.moto")

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT.parent / "connectors" / "payer_sim" / "sample"
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
ROSTER = (ROOT / "fixtures" / "ingest" / "roster.csv").read_bytes()
PASSWORD = "clinic's door secret"


def good(n: int) -> bytes:
    return json.dumps({**ELIGIBILITY, "controlNumber": f"{n:09d}"}).encode()


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
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


def test_every_configured_door_takes_a_request(tmp_path: Path, pipeline: Pipeline, rabbitmq_url: str,
                                               activemq_server: Any, moto_server: Any, s3_client: Any,
                                               s3_bucket: str) -> None:
    tag = uuid.uuid4().hex[:8]
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "roster.yaml").write_text((ROOT / "fixtures" / "ingest" / "roster-csv.yaml").read_text())
    config = {"submitters": {"clinic": {"doors": {
        "folder": {"root": "drop/clinic", "settle_seconds": 0, "poll_interval_seconds": 0.2},
        "sftp": {"username": "clinic", "password_hash": hash_password(PASSWORD)},
        "s3": {"bucket": s3_bucket, "prefix": "submitters/clinic", "poll_interval_seconds": 0.5},
        "amqp": {"queue": f"clinic.requests.{tag}"},
        "jms": {"queue": f"/queue/clinic.requests.{tag}", "reply_destination": f"/queue/clinic.replies.{tag}"},
        "mappings": ["roster.yaml"],
    }}}}
    (tmp_path / "cfg" / "partners.yaml").write_text(yaml.safe_dump(config))
    partners = load_partners(tmp_path / "cfg" / "partners.yaml")
    host, port = activemq_server.stomp_address
    settings = DoorSettings.from_env({
        "EDI_DATA_DIR": str(tmp_path / "data"), "EDI_SFTP_DOOR_PORT": "0", "EDI_S3_ENDPOINT_URL": moto_server.endpoint_url,
        "EDI_DOORS_AMQP_URL": rabbitmq_url, "EDI_DOORS_STOMP_URL": f"stomp://{host}:{port}", "EDI_DOORS_ID": "t",
    })
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    with DoorRunner(pipeline, settings, submitters=partners.submitters, boto_session=session) as runner:
        assert [line.split(":")[0].split()[0] for line in runner.listening] == ["folder", "sftp", "s3", "amqp",
                                                                                  "jms"]
        answers: dict[str, dict] = {}

        # folder: a CSV through the submitter's mapping file
        folder = tmp_path / "cfg" / "drop" / "clinic"
        (folder / "inbound" / "roster.csv").write_bytes(ROSTER)
        answers["folder"] = json.loads(wait_for(lambda: next(iter(folder.glob("outbound/*.json")), None),
                                                "the folder answer").read_text())

        # sftp
        server = runner.sftp_server

        async def upload() -> bytes:
            async with asyncssh.connect(server.host, server.port, username="clinic", password=PASSWORD,
                                        known_hosts=asyncssh.import_known_hosts(server.known_hosts_line()),
                                        client_keys=[], preferred_auth=("password",), agent_path=None,
                                        config=None) as conn, conn.start_sftp_client() as sftp:
                async with sftp.open("/inbound/one.json", "wb") as handle:
                    await handle.write(good(1))
                async with sftp.open("/outbound/one.json.receipt.json", "rb") as handle:
                    return await handle.read()

        answers["sftp"] = json.loads(asyncio.run(upload()))

        # s3 (polling)
        s3_client.put_object(Bucket=s3_bucket, Key="submitters/clinic/inbound/two.json", Body=good(2))
        key = "submitters/clinic/outbound/two.json.receipt.json"
        wait_for(lambda: s3_client.list_objects_v2(Bucket=s3_bucket, Prefix=key).get("KeyCount"), "the S3 answer")
        answers["s3"] = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())

        # amqp
        with Connection(rabbitmq_url) as connection:
            channel = connection.channel()
            replies = Queue(f"clinic.replies.{tag}", durable=True)(channel)
            replies.declare()
            Producer(channel).publish(good(3), exchange="", routing_key=f"clinic.requests.{tag}",
                                      reply_to=replies.name, message_id="m-3", content_type="application/json")
            answers["amqp"] = json.loads(wait_for(lambda: replies.get(no_ack=True), "the AMQP reply").body)

        # jms: no JMSReplyTo, so the queue's reply_destination
        frames: list = []
        peer = stomp.Connection12([activemq_server.stomp_address], auto_decode=False)
        peer.set_listener("peer", type("L", (stomp.ConnectionListener,), {"on_message": lambda s, f: frames.append(f)})())
        peer.connect(wait=True)
        try:
            peer.subscribe(f"/queue/clinic.replies.{tag}", id="r", ack="auto")
            peer.send(f"/queue/clinic.requests.{tag}", good(4), headers={"persistent": "true"})
            answers["jms"] = json.loads(wait_for(lambda: frames[:1], "the JMS reply")[0].body)
        finally:
            peer.disconnect()

    for door, answer in answers.items():
        assert answer["status"] == "accepted", (door, answer)
        for tid in answer["accepted"]:
            assert pipeline.repository.require(tid, submitter_id="clinic").id == tid
    assert len(answers["folder"]["accepted"]) == 3  # the mapped roster: three members


def test_door_settings_from_the_environment(tmp_path: Path) -> None:
    settings = DoorSettings.from_env({"EDI_DATA_DIR": str(tmp_path), "EDI_BROKER_URL": "amqp://u:p@mq:5672/v"})
    assert settings.sftp_port == 2222 and settings.sftp_host == "127.0.0.1"
    assert settings.sftp_host_key == tmp_path.resolve() / "doors" / "sftp_host_key"
    assert settings.amqp_url == "amqp://u:p@mq:5672/v"  # the pipeline's broker, when it is AMQP
    assert DoorSettings.from_env({"EDI_DATA_DIR": str(tmp_path)}).amqp_url is None
    with pytest.raises(ValueError, match="EDI_SFTP_DOOR_PORT"):
        DoorSettings.from_env({"EDI_SFTP_DOOR_PORT": "twenty-two"})
    endpoint = stomp_endpoint("stomp://door:s%40cret@amq:61613")
    assert (endpoint.host, endpoint.port, endpoint.username, endpoint.password) == ("amq", 61613, "door", "s@cret")
    assert "s@cret" not in repr(endpoint) and "s%40cret" not in repr(
        DoorSettings.from_env({"EDI_DOORS_STOMP_URL": "stomp://door:s%40cret@amq:61613"}))


def test_door_config_errors_name_their_place(tmp_path: Path) -> None:
    with pytest.raises(PartnersConfigError) as raised:
        parse_partners("submitters:\n  c:\n    doors:\n      sftp: {username: c}\n", base_dir=tmp_path, source="p")
    assert "submitters.c.doors.sftp" in str(raised.value) and "authorized_keys" in str(raised.value)
    with pytest.raises(PartnersConfigError) as raised:
        parse_partners("submitters:\n  c:\n    doors:\n      sftp: {username: c, password_hash: hunter2}\n",
                       base_dir=tmp_path, source="p")
    assert "password_hash" in str(raised.value) and "hunter2" not in str(raised.value)


def test_sample_config_gives_the_demo_submitter_a_folder_and_an_sftp_login(tmp_path: Path,
                                                                            pipeline: Pipeline) -> None:
    sample = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:1/core", sftp_port=1,
                                 known_hosts_line="[127.0.0.1]:1 ssh-ed25519 AAAA\n", doors_dir=tmp_path / "doors")
    partners = load_partners(sample.partners_file)
    doors = partners.submitters[SUBMITTER_ID].doors
    assert doors is not None and doors.folder is not None and doors.sftp is not None
    assert doors.folder.root == sample.folder_root
    assert sample.door_password and sample.door_password not in sample.partners_file.read_text()
    settings = DoorSettings.from_env({"EDI_DATA_DIR": str(tmp_path / "data"), "EDI_SFTP_DOOR_PORT": "0"})
    with DoorRunner(pipeline, settings, submitters=partners.submitters) as runner:
        assert [line.split()[0] for line in runner.listening] == ["folder", "sftp:"]
        assert str(sample.folder_root / "inbound") in runner.listening[0]


def test_hash_password_command_reads_stdin() -> None:
    from typer.testing import CliRunner

    from connectors.ingest.sftp_server import verify_password
    from edi.cli import app

    result = CliRunner().invoke(app, ["hash-password"], input="door secret\n")
    assert result.exit_code == 0, result.output
    stored = result.output.strip()
    assert stored.startswith("scrypt$") and "door secret" not in stored
    assert verify_password("door secret", stored)


def _start(args: list[str], env: dict[str, str], ready: str) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "edi", *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL)
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    wait_for(lambda: any(ready in line for line in lines) or process.poll() is not None, f"'{ready}' printed",
             timeout=120)
    assert process.poll() is None, lines
    return process, lines


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EDI_")}
    return {**env, "EDI_DATA_DIR": str(tmp_path / "data"), "EDI_SFTP_DOOR_PORT": "0", **extra}


def test_edi_doors_runs_the_configured_doors(tmp_path: Path) -> None:
    config = tmp_path / "partners.yaml"
    config.write_text(yaml.safe_dump({"submitters": {"clinic": {"doors": {
        "folder": {"root": "drop", "settle_seconds": 0, "poll_interval_seconds": 0.2}}}}}))
    Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}).keyring(create=True)  # as `edi worker` needs
    process, lines = _start(["doors"], _env(tmp_path, EDI_PARTNERS_FILE=str(config)), "doors: folder clinic")
    try:
        (tmp_path / "drop" / "inbound" / "one.json").write_bytes(good(1))
        answer = wait_for(lambda: next(iter((tmp_path / "drop" / "outbound").glob("*.json")), None), "an answer")
        assert json.loads(answer.read_text())["status"] == "accepted"
    finally:
        stop(process, signal.SIGINT, 30)


def test_edi_run_starts_the_demo_submitters_folder_and_sftp_doors(tmp_path: Path) -> None:
    process, lines = _start(["run", "--port", "0"], _env(tmp_path), "ready")
    try:
        folder_line = next(line for line in lines if line.startswith("door:") and " folder " in line)
        assert any(line.startswith("door:") and "sftp://127.0.0.1:" in line for line in lines), lines
        inbound = Path(re.search(r"drop files in (\S+),", folder_line).group(1))
        (inbound / "one.json").write_bytes(good(1))
        outbound = inbound.parent / "outbound"
        answer = wait_for(lambda: next(iter(outbound.glob("*.json")), None), "an answer in outbound/")
        assert json.loads(answer.read_text())["status"] == "accepted"
    finally:
        stop(process, signal.SIGINT, 30)
