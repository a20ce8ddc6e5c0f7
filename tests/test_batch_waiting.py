"""The partner outbox decides whether a batch is due from a count of the waiting claims, and
translation routes a claim on its stored payer id alone: both on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import PARTNER_ID, SUBMITTER_ID, write_sample_config
from edi.pipeline import Pipeline, intake
from edi.pipeline.batching import build_batches
from edi.pipeline.context import canonical_json
from edi.pipeline.translate import load_payer_ids, translate_many
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, Kind, NewTransaction, PayloadAttachment, State
from edi.store.models import PayloadKind
from edi.store.waiting import oldest_waiting, waiting_claims
from tests.test_payer_sim_rules import claim

pytest_plugins = ("tests.servers.postgres",)


@pytest.fixture(params=["sqlite", "postgresql"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Pipeline:
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line="[127.0.0.1]:2222 ssh-ed25519 AAAA", max_claims_per_file=3,
                                 window_seconds=60)
    env = {"EDI_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgresql":
        env["EDI_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return open_pipeline(Settings.from_env(env), partners_file=config.partners_file, create_key=True)


def claims(count: int, payer_id: str = "SIMPLAN01") -> list[dict]:
    out = []
    for number in range(count):
        data = claim(f"WAIT-{number}", "SIM00001").to_json()
        data["tradingPartnerServiceId"] = payer_id
        out.append(data)
    return out


def queue(pipeline: Pipeline, data: list[dict]) -> list[str]:
    records = intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                 items=[intake.Request("professional", d) for d in data])
    ids = [r.id for r, _ in records]
    translate_many(pipeline, ids)
    return ids


def test_the_count_agrees_with_the_waiting_claims_it_stands_for(pipeline: Pipeline) -> None:
    engine = pipeline.repository.engine
    empty = waiting_claims(engine, PARTNER_ID, "837P")
    assert (empty.count, empty.oldest, empty.scheduled) == (0, None, 0)
    assert oldest_waiting(engine, PARTNER_ID, "837P") is None

    ids = queue(pipeline, claims(2))
    pipeline.repository.schedule(ids[1], None)  # as the sweeper leaves it
    listed = pipeline.repository.unbatched_claims(PARTNER_ID, "837P", limit=100)
    counted = waiting_claims(engine, PARTNER_ID, "837P")
    assert sorted(r.id for r in listed) == sorted(ids)
    assert counted.count == 2 and counted.scheduled == 1
    assert counted.oldest == min(r.updated_at for r in listed)
    oldest = min(listed, key=lambda r: (r.updated_at, r.id))
    assert oldest_waiting(engine, PARTNER_ID, "837P") == oldest.id
    assert waiting_claims(engine, PARTNER_ID, "837I").count == 0
    assert waiting_claims(engine, "another-partner", "837P").count == 0


def test_a_full_file_is_built_before_its_window_ends_and_the_rest_waits_for_it(pipeline: Pipeline) -> None:
    ids = queue(pipeline, claims(4))
    built = build_batches(pipeline, PARTNER_ID, "837P")  # the window (60 s) has not ended
    assert [b.claims for b in built] == [3]
    after = pipeline.repository.get_many(ids)
    batched = [i for i in ids if after[i].correlation.isa13 is not None]
    assert len(batched) == 3
    waiting = waiting_claims(pipeline.repository.engine, PARTNER_ID, "837P")
    assert waiting.count == 1 and waiting.scheduled == 1  # its own due time brings it back
    assert build_batches(pipeline, PARTNER_ID, "837P") == []
    [left] = [i for i in ids if i not in batched]
    ends = after[left].updated_at + timedelta(seconds=60)
    assert [b.claims for b in build_batches(pipeline, PARTNER_ID, "837P", now=ends)] == [1]


def test_a_build_a_moment_early_wakes_the_oldest_claim_again(pipeline: Pipeline) -> None:
    ids = queue(pipeline, claims(2))
    pipeline.repository.schedule(ids, None)  # what the sweeper does when it queues the outbox message
    queued = pipeline.repository.get_many(ids)
    ends = min(r.updated_at for r in queued.values()) + timedelta(seconds=60)
    assert build_batches(pipeline, PARTNER_ID, "837P", now=ends - timedelta(milliseconds=50)) == []
    woken = [r for r in pipeline.repository.get_many(ids).values() if r.due_at is not None]
    oldest = min(queued.values(), key=lambda r: (r.updated_at, r.id))
    assert [(r.id, r.due_at) for r in woken] == [(oldest.id, ends)]
    assert [b.claims for b in build_batches(pipeline, PARTNER_ID, "837P", now=ends)] == [2]


def test_a_claim_is_routed_on_its_stored_payer_id_under_either_name(pipeline: Pipeline) -> None:
    camel, snake, unknown = claims(3)
    snake["trading_partner_service_id"] = snake.pop("tradingPartnerServiceId")
    unknown["tradingPartnerServiceId"] = "NOSUCHPAYER"
    records = intake.accept_many(pipeline, submitter_id=SUBMITTER_ID,
                                 items=[intake.Request("professional", d) for d in (camel, snake, unknown)])
    ids = [r.id for r, _ in records]
    routes = load_payer_ids(pipeline, [r for r, _ in records])
    assert [routes[i] for i in ids] == [("837P", "SIMPLAN01"), ("837P", "SIMPLAN01"), ("837P", "NOSUCHPAYER")]
    translate_many(pipeline, ids)
    after = pipeline.repository.get_many(ids)
    assert [after[i].state for i in ids] == [State.QUEUED, State.QUEUED, State.REJECTED]
    assert after[ids[0]].partner_id == after[ids[1]].partner_id == PARTNER_ID
    history = pipeline.repository.history(ids[2], submitter_id=ALL_SUBMITTERS)
    assert history[-1].detail_code == "route:no-partner"


def test_a_queued_claim_the_request_model_no_longer_takes_is_rejected_alone(pipeline: Pipeline) -> None:
    """Claims are routed without building the request model, so the outbox is the first to build
    it; a stored request from before a model change must not hold up the batch of the others."""
    good = queue(pipeline, claims(2))
    old = claims(1)[0] | {"claimFormat": "from an older release"}  # a field the model does not know
    stored = pipeline.payloads.put(canonical_json(old))
    created = pipeline.repository.create(
        NewTransaction(submitter_id=SUBMITTER_ID, kind=Kind.CLAIM, document_type="837P"), actor="intake",
        attach=[PayloadAttachment(PayloadKind.REQUEST_JSON, stored, "837P")],
    )
    bad = created.transaction.id
    pipeline.repository.transition(bad, State.VALIDATED, actor="intake", expected=State.RECEIVED)
    translate_many(pipeline, [bad])
    assert pipeline.repository.require(bad, submitter_id=ALL_SUBMITTERS).state is State.QUEUED

    built = build_batches(pipeline, PARTNER_ID, "837P", force=True)
    assert [b.claims for b in built] == [2]
    after = pipeline.repository.get_many([*good, bad])
    assert {after[i].state for i in good} == {State.QUEUED} and after[good[0]].correlation.isa13 is not None
    assert after[bad].state is State.REJECTED and after[bad].correlation.isa13 is None
    assert pipeline.repository.history(bad, submitter_id=ALL_SUBMITTERS)[-1].detail_code == "check:invalid"
    [note] = [p for p in pipeline.repository.payloads(bad, submitter_id=ALL_SUBMITTERS)
              if p.kind is PayloadKind.RESPONSE_JSON]
    body = json.loads(pipeline.read(note))
    assert body["type"] == "transaction.rejected" and body["data"]["final"] is True
    assert [e["field"] for e in body["data"]["errors"]] == ["claimFormat"]
