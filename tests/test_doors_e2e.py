"""A submitter's files go in by a door and the answers come back out through it.

The whole pipeline on the embedded default with the payer simulator: an eligibility request and
a JSON Lines file of claims dropped in the sample submitter's watched folder; the door's receipt,
then the 271 and each claim's 999, 277CA and (for paid claims) 835 arrive as JSON files in the
folder's ``outbound/``, named by transaction id. The same over the SFTP door: uploaded to
``/inbound``, answered in ``/outbound``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from connectors.ingest.replies import DoorReplies
from connectors.ingest.runner import DoorRunner
from connectors.pipeline.runner import PipelineRunner
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, SampleConfig, write_sample_config
from edi.settings import DoorSettings, Settings
from tests.test_payer_sim_rules import claim, eligibility_request
from tests.test_pipeline_e2e import ACCEPTED, BATCH, SFTP_PASSWORD, start_sim

DOOR_PASSWORD = "door-password-1"


@dataclass
class Doors:
    config: SampleConfig
    sftp_port: int
    known_hosts: Any


@pytest.fixture
def doors(tmp_path: Path) -> Iterator[Doors]:
    sim = start_sim(tmp_path / "mailbox")
    env = {"EDI_DATA_DIR": str(tmp_path / "data"), "EDI_SFTP_DOOR_PORT": "0"}
    config = write_sample_config(tmp_path / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                 known_hosts_line=sim.known_hosts_line(), sftp_password=SFTP_PASSWORD,
                                 window_seconds=1.0, poll_seconds=0.3, doors_dir=tmp_path / "doors",
                                 door_password=DOOR_PASSWORD)
    settings = Settings.from_env(env)
    pipeline = open_pipeline(settings, partners_file=config.partners_file, create_key=True)
    door_settings = DoorSettings.from_env(env)
    replies = DoorReplies.from_config(pipeline.partners.submitters, door_settings)
    runner = PipelineRunner(pipeline, broker_url=f"sqla+sqlite:///{tmp_path / 'data' / 'broker.db'}",
                            sweep_interval=0.2, poll_interval=0.3, replies=replies).start()
    door_runner = DoorRunner(pipeline, door_settings).start()
    try:
        server = door_runner.sftp_server
        yield Doors(config, server.port, asyncssh.import_known_hosts(server.known_hosts_line()))
    finally:
        door_runner.stop()
        runner.stop()
        sim.stop()
        pipeline.repository.engine.dispose()


def _eligibility() -> bytes:
    return json.dumps(eligibility_request("SIM00001", "DOE", "19800115").to_json()).encode()


def _claims() -> bytes:
    lines = []
    for pcn, member, charges, code, *_rest in BATCH:
        data = claim(pcn, member, charges, code).to_json()
        data["tradingPartnerServiceId"] = "SIMPLAN01"
        lines.append(json.dumps(data))
    return ("\n".join(lines) + "\n").encode()


def _wait_for(outbound: Path, expected: set[str], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {p.name for p in outbound.iterdir()} if outbound.exists() else set()
        if expected <= found:
            return {name: json.loads((outbound / name).read_text()) for name in found}
        time.sleep(0.3)
    raise AssertionError(f"missing in outbound: {sorted(expected - found)}")


def _answers_expected(receipts: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """The answer files owed for the two receipts, and claim id -> patient control number."""
    (elig_id,) = receipts["elig.json"]["accepted"]
    claim_ids = receipts["claims.jsonl"]["accepted"]
    by_id = {tid: row[0] for tid, row in zip(claim_ids, BATCH, strict=True)}
    expected = {f"{elig_id}.eligibility.response.json"}
    for tid, pcn in by_id.items():
        expected |= {f"{tid}.functional.acknowledgment.json", f"{tid}.claim.acknowledgment.json"}
        if pcn in ACCEPTED:
            expected.add(f"{tid}.claim.payment.json")
    return expected, by_id


def _check(answers: dict[str, Any], by_id: dict[str, str]) -> None:
    member = next(v for k, v in answers.items() if k.endswith(".eligibility.response.json"))
    assert member["data"]["final"] is True and member["data"]["response"]["subscriber"]["memberId"] == "SIM00001"
    for tid, pcn in by_id.items():
        ack = answers[f"{tid}.claim.acknowledgment.json"]
        assert ack["data"]["transactionId"] == tid
        assert pcn in json.dumps(ack["data"]["response"])  # each file carries its own claim only
        assert not any(other in json.dumps(ack["data"]["response"]) for other in by_id.values() if other != pcn)


def test_folder_door_answers_land_in_the_outbound_folder(doors: Doors) -> None:
    root = doors.config.folder_root
    assert root is not None
    (root / "inbound" / "elig.json").write_bytes(_eligibility())
    (root / "inbound" / "claims.jsonl").write_bytes(_claims())
    receipts = _wait_for(root / "outbound", {"elig.json.receipt.json", "claims.jsonl.receipt.json"}, 60)
    receipts = {"elig.json": receipts["elig.json.receipt.json"], "claims.jsonl": receipts["claims.jsonl.receipt.json"]}
    expected, by_id = _answers_expected(receipts)
    _check(_wait_for(root / "outbound", expected), by_id)


def test_sftp_door_answers_land_in_the_outbound_folder(doors: Doors) -> None:
    async def session(work: Any) -> Any:
        async with asyncssh.connect("127.0.0.1", doors.sftp_port, username=SUBMITTER_ID, password=DOOR_PASSWORD,
                                    known_hosts=doors.known_hosts, client_keys=[], agent_path=None,
                                    config=None) as conn, conn.start_sftp_client() as sftp:
            return await work(sftp)

    async def upload(sftp: Any) -> None:
        for name, data in (("elig.json", _eligibility()), ("claims.jsonl", _claims())):
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
    deadline, answers = time.monotonic() + 90, {}
    expected: set[str] | None = None
    by_id: dict[str, str] = {}
    while time.monotonic() < deadline:
        answers = asyncio.run(session(fetch))
        if expected is None and {"elig.json.receipt.json", "claims.jsonl.receipt.json"} <= set(answers):
            expected, by_id = _answers_expected({"elig.json": answers["elig.json.receipt.json"],
                                                 "claims.jsonl": answers["claims.jsonl.receipt.json"]})
        if expected is not None and expected <= set(answers):
            break
        time.sleep(0.5)
    assert expected is not None and expected <= set(answers), sorted((expected or set()) - set(answers))
    _check(answers, by_id)
