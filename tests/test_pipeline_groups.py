"""The service layer in groups: bulk intake, translating many claims at once, and a claim the 837
cannot carry rejected alone when its batch is built (no trial 837 per claim any more)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import PARTNER_ID, SUBMITTER_ID, write_sample_config
from edi.pipeline import Pipeline, intake
from edi.pipeline.batching import build_batches
from edi.pipeline.translate import translate_many
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, State, UnexpectedStateError
from edi.store.models import OutboxEntry, PayloadKind
from tests.test_payer_sim_rules import claim


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line="[127.0.0.1]:2222 ssh-ed25519 AAAA")
    return open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}),
                         partners_file=config.partners_file, create_key=True)


def claims(count: int) -> list[dict]:
    out = []
    for number in range(count):
        data = claim(f"GROUP-{number}", "SIM00001").to_json()
        data["tradingPartnerServiceId"] = "SIMPLAN01"
        out.append(data)
    return out


def outbox_topics(pipeline: Pipeline) -> list[tuple[str, str | None]]:
    with pipeline.repository.engine.connect() as connection:
        return [(r.topic, r.transaction_id) for r in connection.execute(select(OutboxEntry).order_by(OutboxEntry.id))]


def test_accept_many_records_each_request_validated_with_its_history_and_message(pipeline: Pipeline) -> None:
    data = claims(5)
    keyed = intake.Request("professional", claims(1)[0] | {"controlNumber": "K1"}, idempotency_key="key-1")
    results = intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                 items=[intake.Request("professional", d) for d in data[:3]] + [keyed]
                                 + [intake.Request("professional", d) for d in data[3:]])
    assert [created for _record, created in results] == [True] * 6
    records = [record for record, _created in results]
    assert len({r.id for r in records}) == 6 and {r.state for r in records} == {State.VALIDATED}
    assert [r.correlation.patient_control_number_hmac for r in records] == [pipeline.repository.pcn_digest(pcn) for pcn in (
        "GROUP-0", "GROUP-1", "GROUP-2", "GROUP-0", "GROUP-3", "GROUP-4")]
    for record, sent in zip(records[:3] + records[4:], data, strict=True):
        history = pipeline.repository.history(record.id, submitter_id=SUBMITTER_ID)
        assert [(e.from_state, e.to_state) for e in history] == [(None, State.RECEIVED),
                                                                (State.RECEIVED, State.VALIDATED)]
        [payload] = pipeline.repository.payloads(record.id, submitter_id=SUBMITTER_ID)
        assert payload.kind is PayloadKind.REQUEST_JSON and json.loads(pipeline.read(payload)) == sent
    assert sorted(t for t in outbox_topics(pipeline)) == sorted(("translate", r.id) for r in records)
    again = intake.accept_many(pipeline, submitter_id=SUBMITTER_ID, items=[keyed])  # the key still replays
    assert again == [(records[3], False)]


def test_a_claim_the_837_cannot_carry_is_rejected_alone_and_the_batch_goes_without_it(pipeline: Pipeline) -> None:
    data = claims(4)
    data[2]["billing"]["address"]["postalCode"] = "60601"  # the checks allow it; the 837 needs nine digits
    records = [r for r, _ in intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                                items=[intake.Request("professional", d) for d in data])]
    ids = [r.id for r in records]
    translate_many(pipeline, ids)
    queued = pipeline.repository.get_many(ids)
    assert {r.state for r in queued.values()} == {State.QUEUED}  # no trial 837 at translation
    assert [t for t, _ in outbox_topics(pipeline)].count("outbox") == 1  # one message for the group

    built = build_batches(pipeline, PARTNER_ID, "837P", force=True)
    assert [(b.claims, b.transaction_sets) for b in built] == [(3, 1)]
    after = pipeline.repository.get_many(ids)
    bad = after[ids[2]]
    assert bad.state is State.REJECTED and bad.correlation.isa13 is None
    history = pipeline.repository.history(bad.id, submitter_id=ALL_SUBMITTERS)
    assert history[-1].detail_code == "translate:not-representable"
    [note] = [p for p in pipeline.repository.payloads(bad.id, submitter_id=ALL_SUBMITTERS)
              if p.kind is PayloadKind.RESPONSE_JSON]
    body = json.loads(pipeline.read(note))
    assert body["type"] == "transaction.rejected" and body["data"]["final"] is True
    assert [e["field"] for e in body["data"]["errors"]] == ["billing.address.postalCode"]
    others = [after[i] for i in ids if i != ids[2]]
    assert {r.state for r in others} == {State.QUEUED}
    assert len({r.correlation.isa13 for r in others}) == 1 and others[0].correlation.isa13 is not None


def test_a_batch_checked_a_moment_before_its_window_ends_is_woken_again(pipeline: Pipeline) -> None:
    """The sweeper clears a claim's schedule when it queues the build; a build that finds the
    window not quite over (the claim's age counts from its commit, its due time from just before)
    must schedule the wake-up again, or the claim waits for ever."""
    records = [r for r, _ in intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                                items=[intake.Request("professional", d) for d in claims(2)])]
    ids = [r.id for r in records]
    translate_many(pipeline, ids)
    pipeline.repository.schedule(ids, None)  # what the sweeper does when it queues the outbox message
    queued = pipeline.repository.get_many(ids)
    window = timedelta(seconds=pipeline.partners.partner(PARTNER_ID).batch.window_seconds)
    ends = min(r.updated_at for r in queued.values()) + window

    assert build_batches(pipeline, PARTNER_ID, "837P", now=ends - timedelta(milliseconds=50)) == []
    woken = [r for r in pipeline.repository.get_many(ids).values() if r.due_at is not None]
    assert [r.due_at for r in woken] == [ends]
    assert [r.id for r in pipeline.repository.due(ends)] == [woken[0].id]  # the sweeper finds it then
    built = build_batches(pipeline, PARTNER_ID, "837P", now=ends)
    assert [b.claims for b in built] == [2]


def test_translate_many_routes_from_the_records_the_consumer_read_and_a_stale_one_raises(pipeline: Pipeline) -> None:
    records = [r for r, _ in intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                                items=[intake.Request("professional", d) for d in claims(4)])]
    ids = [r.id for r in records]
    known = pipeline.repository.get_many(ids)  # as the stage consumer reads a group before handing it over
    translate_many(pipeline, ids[:2], known={i: known[i] for i in ids[:2]})
    translate_many(pipeline, ids[2:], known={ids[2]: known[ids[2]]})  # one read here, one given
    after = pipeline.repository.get_many(ids)
    assert {r.state for r in after.values()} == {State.QUEUED} and {r.partner_id for r in after.values()} == {PARTNER_ID}
    for transaction_id in ids:
        history = pipeline.repository.history(transaction_id, submitter_id=ALL_SUBMITTERS)
        assert [(e.to_state, e.actor) for e in history][-1] == (State.QUEUED, "translate")
    # a message delivered again with the record as it was before routing: the move names the state
    # it expects, so the stale record raises (the consumer then handles the group one by one)
    with pytest.raises(UnexpectedStateError):
        translate_many(pipeline, ids[:1], known={ids[0]: known[ids[0]]})
    assert [t for t, _ in outbox_topics(pipeline)].count("outbox") == 2
