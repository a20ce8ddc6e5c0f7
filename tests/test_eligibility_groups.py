"""Eligibility requests in groups, against the payer simulator on loopback: a group's 270s written
in one commit, marked sent in one commit before any call, sent side by side and their 271s
recorded in one commit -- each transaction still with its own events, payloads and messages,
and a group whose partner cannot be reached put back to ``queued`` with nothing sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.realtime import ClientPool
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from edi.pipeline import Pipeline, intake
from edi.pipeline.translate import translate_many
from edi.pipeline.transmission import begin_realtime_many
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, State
from edi.store.models import OutboxEntry, PayloadKind
from tests.test_payer_sim_rules import eligibility_request

FIXTURES = Path(__file__).parent / "fixtures" / "payer_sim"
MEMBERS = [("SIM00001", "DOE", "19800115"), ("SIM00003", "POE", "19600101"), ("NOBODY01", "DOE", "19800115")]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[EmbeddedPayerSim]:
    sim = EmbeddedPayerSim(FIXTURES / "roster.yaml", FIXTURES / "rules.yaml", tmp_path / "mailbox",
                           sftp_password="sim-pw-123456").start()
    yield sim
    sim.stop()


def _pipeline(tmp_path: Path, core_url: str) -> Pipeline:
    config = write_sample_config(tmp_path / "cfg", core_url=core_url, sftp_port=2222,
                                 known_hosts_line="[127.0.0.1]:2222 ssh-ed25519 AAAA")
    return open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}),
                         partners_file=config.partners_file, create_key=True)


def _accepted(pipeline: Pipeline, count: int, *, unroutable: int = 0) -> list[str]:
    items = []
    for number in range(count):
        member_id, last, dob = MEMBERS[number % len(MEMBERS)]
        data = eligibility_request(member_id, last, dob).to_json()
        data["tradingPartnerServiceId"] = "NOSUCHPAYER" if number < unroutable else "SIMPLAN01"
        data["controlNumber"] = f"{number + 1:09d}"
        items.append(intake.Request("eligibility", data))
    results = intake.accept_many(pipeline, submitter_id=SUBMITTER_ID, items=items)
    return [record.id for record, _created in results]


def _topics(pipeline: Pipeline, transaction_id: str) -> list[str]:
    with pipeline.repository.engine.connect() as connection:
        return [r.topic for r in connection.execute(
            select(OutboxEntry).where(OutboxEntry.transaction_id == transaction_id).order_by(OutboxEntry.id))]


def test_a_group_of_eligibility_requests_is_translated_sent_and_answered_each_with_its_own_trail(
    tmp_path: Path, sim: EmbeddedPayerSim
) -> None:
    pipeline = _pipeline(tmp_path, sim.core_url)
    ids = _accepted(pipeline, 12, unroutable=2)
    translate_many(pipeline, ids)
    records = pipeline.repository.get_many(ids)
    refused, routed = ids[:2], ids[2:]
    assert {records[i].state for i in refused} == {State.REJECTED}  # alone, with the reason
    assert {pipeline.repository.history(i, submitter_id=ALL_SUBMITTERS)[-1].detail_code
            for i in refused} == {"route:no-partner"}
    assert {records[i].state for i in routed} == {State.QUEUED}
    isa13s = [records[i].correlation.isa13 for i in routed]
    assert len(set(isa13s)) == len(routed) and None not in isa13s  # every 270 its own interchange
    for transaction_id in routed:
        history = pipeline.repository.history(transaction_id, submitter_id=ALL_SUBMITTERS)
        assert [e.to_state for e in history] == [State.RECEIVED, State.VALIDATED, State.QUEUED]
        assert history[-1].actor == "translate"
        [x12] = [p for p in pipeline.repository.payloads(transaction_id, submitter_id=ALL_SUBMITTERS)
                 if p.kind is PayloadKind.OUTBOUND_X12]
        text = pipeline.read(x12).decode()
        assert f"TRN*1*{transaction_id}*" in text and f"*{records[transaction_id].correlation.isa13:09d}*" in text
        assert _topics(pipeline, transaction_id) == ["translate", "transport"]

    translate_many(pipeline, routed)  # a repeated group (at-least-once delivery) changes nothing
    assert all(_topics(pipeline, i) == ["translate", "transport"] for i in routed)

    sends = begin_realtime_many(pipeline, list(pipeline.repository.get_many(routed).values()))
    assert sorted(s.transaction.id for s in sends) == sorted(routed)
    assert {r.state for r in pipeline.repository.get_many(routed).values()} == {State.SENT}  # before any call
    assert begin_realtime_many(pipeline, list(pipeline.repository.get_many(routed).values())) == []  # never twice

    pool = ClientPool()
    try:
        pool.exchange_many(pipeline, sends)
    finally:
        pool.close()
    answered = pipeline.repository.get_many(routed)
    assert {r.state for r in answered.values()} == {State.RESPONDED}
    for number, transaction_id in enumerate(ids):
        if transaction_id in refused:
            continue
        history = pipeline.repository.history(transaction_id, submitter_id=ALL_SUBMITTERS)
        assert [e.to_state for e in history][-2:] == [State.SENT, State.RESPONDED]
        kinds = [p.kind for p in pipeline.repository.payloads(transaction_id, submitter_id=ALL_SUBMITTERS)]
        assert kinds.count(PayloadKind.INBOUND_X12) == 1
        assert _topics(pipeline, transaction_id)[-1] == "delivery"
        member_id = MEMBERS[number % len(MEMBERS)][0]
        [inbound] = [p for p in pipeline.repository.payloads(transaction_id, submitter_id=ALL_SUBMITTERS)
                     if p.kind is PayloadKind.INBOUND_X12]
        text = pipeline.read(inbound).decode()
        assert f"TRN*2*{transaction_id}*" in text  # the answer to this transaction's own 270
        assert f"*MI*{member_id}~" in text and ("**75*" in text) == (member_id == "NOBODY01")


def test_a_group_whose_payer_is_unreachable_goes_back_to_queued_not_sent(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, "http://127.0.0.1:9/core")  # nothing listens on port 9
    ids = _accepted(pipeline, 4)
    translate_many(pipeline, ids)
    sends = begin_realtime_many(pipeline, list(pipeline.repository.get_many(ids).values()))
    pool = ClientPool()
    try:
        pool.exchange_many(pipeline, sends)
    finally:
        pool.close()
    for record in pipeline.repository.get_many(ids).values():
        assert record.state is State.QUEUED and record.attempts == 1 and record.due_at is not None
        history = pipeline.repository.history(record.id, submitter_id=ALL_SUBMITTERS)
        assert [e.to_state for e in history][-2:] == [State.SENT, State.QUEUED]
        assert history[-1].detail_code in {"core:unavailable", "core:circuit-open"}
