"""The API's real-time path and the transport worker never both send one 270.

The API translates with ``hold=True`` (no transport message; due after the CORE budget, for the
sweeper, should the API die before sending) and then marks the 270 sent itself. Whoever loses
the queued -> sent move gets "nothing to send" instead of an error (it was an HTTP 500).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.pipeline.runtime import open_pipeline
from edi.partners import load_partners
from edi.pipeline import Pipeline
from edi.pipeline.intake import accept
from edi.pipeline.sweeper import sweep
from edi.pipeline.translate import translate
from edi.pipeline.transmission import RealtimeSend, begin_realtime
from edi.settings import Settings
from edi.store import State, TransactionFilter
from edi.store.models import OutboxEntry
from tests.test_payer_sim_rules import eligibility_request

HERE = Path(__file__).parent


def _pipeline(tmp_path: Path) -> Pipeline:
    settings = Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")})
    return open_pipeline(settings, partners=load_partners(HERE / "fixtures" / "partners.yaml"), create_key=True)


def _queued(pipeline: Pipeline) -> str:
    request = eligibility_request("SIM00001", "DOE", "19800115").to_json()
    request["tradingPartnerServiceId"] = "BPM77"  # bluepeak in tests/fixtures/partners.yaml
    record, _ = accept(pipeline, submitter_id="clinic-a", request_kind="eligibility", data=request, route=False)
    outcome = translate(pipeline, record.id, hold=True)
    assert outcome.transaction.state is State.QUEUED
    return record.id


def _transport_messages(pipeline: Pipeline, transaction_id: str) -> int:
    with pipeline.repository.engine.connect() as connection:
        return len(connection.execute(
            select(OutboxEntry.id).where(OutboxEntry.transaction_id == transaction_id,
                                        OutboxEntry.topic.like("transport%"))
        ).all())


def test_held_270_has_no_transport_message_and_is_due_after_the_budget(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    transaction_id = _queued(pipeline)
    assert _transport_messages(pipeline, transaction_id) == 0
    record = pipeline.repository.require(transaction_id, submitter_id="clinic-a")
    assert record.due_at is not None
    assert (record.due_at - record.updated_at).total_seconds() >= pipeline.timings.realtime_budget - 1
    sweep(pipeline)
    assert _transport_messages(pipeline, transaction_id) == 0, "not due yet: the API is sending it"


def test_the_loser_of_the_sent_move_has_nothing_to_send(tmp_path: Path) -> None:
    """Another process marks the 270 sent between our read of it and our move: we send nothing."""
    pipeline = _pipeline(tmp_path)
    transaction_id = _queued(pipeline)
    taken: list[object] = []

    class TakenMeanwhile:
        """The payload store, where another process's move happens right after our read."""

        def __getattr__(self, name: str) -> object:
            return getattr(pipeline.payloads, name)

        def get(self, uri: str, **options: object) -> bytes:
            data = pipeline.payloads.get(uri, **options)
            if not taken:
                taken.append(begin_realtime(pipeline, transaction_id))
            return data

    ours = dataclasses.replace(pipeline, payloads=TakenMeanwhile())
    assert begin_realtime(ours, transaction_id) is None
    (winner,) = taken
    assert winner is not None and winner.transaction.state is State.SENT


def test_finishing_a_transaction_another_worker_just_finished_is_not_an_error(tmp_path: Path) -> None:
    """Two workers delivering one transaction's answers both try to move it to delivered."""
    from edi.pipeline.delivery_plan import finish

    pipeline = _pipeline(tmp_path)
    repository = pipeline.repository
    tid = _queued(pipeline)
    repository.transition(tid, State.SENT, actor="transport")
    repository.transition(tid, State.RESPONDED, actor="responses")

    class OtherWorkerFirst(type(repository)):  # type: ignore[misc]
        """Reads the transaction, then the other worker's move lands before ours."""

        def require(self, transaction_id: str, **options: object):  # noqa: ANN201
            record = super().require(transaction_id, **options)
            if record.state is State.RESPONDED:
                repository.transition(transaction_id, State.DELIVERED, actor="other-worker")
            return record

    racing = dataclasses.replace(pipeline, repository=OtherWorkerFirst(repository.engine))
    done = finish(racing, repository.require(tid, submitter_id="clinic-a"), "http:200")
    assert done is not None and done.state is State.DELIVERED
    assert [e.actor for e in repository.history(tid, submitter_id="clinic-a")][-1] == "other-worker"


def _express(pipeline: Pipeline, key: str | None = None) -> tuple[dict[str, Any], RealtimeSend | None]:
    from edi.checks import validate_request
    from edi.pipeline import express

    request = eligibility_request("SIM00001", "DOE", "19800115").to_json()
    request["tradingPartnerServiceId"] = "BPM77"
    model, problems = validate_request("eligibility", request)
    assert problems == []
    return request, express.prepare(pipeline, submitter_id="clinic-a", request=model, data=request, actor="api",
                                    idempotency_key=key, request_sha256="a" * 64 if key else None)


def test_the_one_commit_path_records_a_sent_270_that_a_crash_never_sends_twice(tmp_path: Path) -> None:
    """The API's one-commit path (``edi.pipeline.express``): the transaction is recorded ``sent``
    with every state on its history, the stored 270 is the text handed to the CORE call, and if
    the API dies before calling, nobody sends it again: it fails once the CORE budget has passed."""
    import json

    from edi.pipeline.context import canonical_json
    from edi.store import ALL_SUBMITTERS
    from edi.store.models import PayloadKind

    pipeline = _pipeline(tmp_path)
    request, send = _express(pipeline)
    assert send is not None
    record = pipeline.repository.require(send.transaction.id, submitter_id="clinic-a")
    assert record.state is State.SENT and record.partner_id == send.partner.id
    assert record.correlation.trn_trace == record.id and record.correlation.isa13 is not None
    history = pipeline.repository.history(record.id, submitter_id=ALL_SUBMITTERS)
    assert [(e.to_state, e.actor) for e in history] == [
        (State.RECEIVED, "api"), (State.VALIDATED, "api"), (State.QUEUED, "translate"), (State.SENT, "transport")]
    outbound = pipeline.payload_of(record.id, PayloadKind.OUTBOUND_X12, "270")
    stored = pipeline.payload_of(record.id, PayloadKind.REQUEST_JSON)
    assert outbound is not None and stored is not None
    assert pipeline.read(outbound).decode() == send.x12
    assert f"TRN|1|{record.id}|" in send.x12  # this partner separates elements with |
    assert json.loads(pipeline.read(stored)) == json.loads(canonical_json(request))
    assert _transport_messages(pipeline, record.id) == 0

    assert begin_realtime(pipeline, record.id) is None  # within the budget: nothing to send, no change
    assert pipeline.repository.require(record.id, submitter_id="clinic-a").state is State.SENT
    late = record.updated_at + timedelta(seconds=pipeline.timings.realtime_budget + 1)
    later = dataclasses.replace(pipeline, clock=lambda: late)
    assert begin_realtime(later, record.id) is None
    failed = pipeline.repository.require(record.id, submitter_id="clinic-a")
    assert failed.state is State.FAILED
    assert pipeline.repository.history(record.id, submitter_id=ALL_SUBMITTERS)[-1].detail_code == "core:no-response"


def test_the_one_commit_path_leaves_replays_to_the_step_by_step_path(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    _request, first = _express(pipeline, key="k-1")
    assert first is not None
    _request, again = _express(pipeline, key="k-1")
    assert again is None  # a replay: the step-by-step path answers with the earlier transaction
    assert [t.id for t in pipeline.repository.list_transactions(TransactionFilter(submitter_id="clinic-a")).items] == [
        first.transaction.id]
