"""PipelineIntake on the real store (SQLite and PostgreSQL, encrypted payloads): accepted items
move on, items failing the checks are kept as rejected transactions, both remember the reply
address (sealed: it may name the submitter's file), and a replayed submission records nothing
twice (its idempotency keys are digests: the door's id for it may name the file too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connectors.ingest.door import ReplyAddress, Submission
from connectors.ingest.intake import PipelineIntake
from connectors.pipeline.runtime import open_pipeline
from edi.ingest import Limits, load_mapping
from edi.pipeline import Pipeline
from edi.pipeline.context import canonical_json
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS, State, TransactionFilter
from edi.store.models import PayloadKind, Transaction

ROOT = Path(__file__).resolve().parent
INGEST = ROOT / "fixtures" / "ingest"
SAMPLE = ROOT.parent / "connectors" / "payer_sim" / "sample"
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
CLAIM = json.loads((SAMPLE / "claim.json").read_text())
REPLY = ReplyAddress("amqp", "replies.acme", correlation_id="c-1")


pytest_plugins = ("tests.servers.postgres",)


@pytest.fixture(params=["sqlite", "postgresql"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pipeline]:
    env = {"EDI_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgresql":
        env["EDI_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    pipe = open_pipeline(Settings.from_env(env), create_key=True)
    yield pipe
    pipe.repository.engine.dispose()


def all_transactions(pipeline: Pipeline) -> list:
    return pipeline.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=500).items


def submission(content: bytes, name: str = "batch.jsonl", **kw) -> Submission:
    return Submission(submitter_id="acme", channel="amqp", name=name, content=content, reply=REPLY, **kw)


def test_valid_items_are_accepted_invalid_ones_recorded_as_rejected(pipeline: Pipeline) -> None:
    bad = {**ELIGIBILITY, "provider": {**ELIGIBILITY["provider"], "npi": "1234567890"}}
    content = "\n".join(json.dumps(x) for x in (ELIGIBILITY, bad, CLAIM, "nope")).encode()
    receipt = PipelineIntake(pipeline)(submission(content))
    assert len(receipt.accepted) == 2 and not receipt.refused_whole
    (npi, not_object) = receipt.rejected
    assert (npi.item, npi.field) == ("line 2", "provider.npi") and "not a valid NPI" in npi.reason
    assert npi.transaction_id is not None
    assert (str(not_object), not_object.transaction_id) == ("line 4: not a JSON object", None)

    for transaction_id in receipt.accepted:
        record = pipeline.repository.require(transaction_id, submitter_id="acme")
        assert record.state is State.VALIDATED
        assert ReplyAddress.from_json(pipeline.reply_to(record)) == REPLY
        assert record.reply_to.startswith("enc1:k") and "replies.acme" not in record.reply_to
    rejected = pipeline.repository.require(npi.transaction_id, submitter_id="acme")
    assert rejected.state is State.REJECTED and ReplyAddress.from_json(pipeline.reply_to(rejected)) == REPLY
    assert "replies.acme" not in rejected.reply_to
    stored = pipeline.payload_of(npi.transaction_id, PayloadKind.REQUEST_JSON)
    assert json.loads(pipeline.read(stored)) == bad  # kept so it can be looked up
    assert len(all_transactions(pipeline)) == 3


def test_a_replayed_submission_records_nothing_twice(pipeline: Pipeline) -> None:
    bad = {**ELIGIBILITY, "controlNumber": "12"}
    content = json.dumps([ELIGIBILITY, bad]).encode()
    intake = PipelineIntake(pipeline)
    first = intake(submission(content, name="b.json", submission_id="delivery-1"))
    again = intake(submission(content, name="b.json", submission_id="delivery-1"))
    assert again.accepted == first.accepted
    assert [e.transaction_id for e in again.rejected] == [e.transaction_id for e in first.rejected]
    assert len(all_transactions(pipeline)) == 2
    other = intake(submission(content, name="b.json", submission_id="delivery-2"))  # a new delivery
    assert other.accepted != first.accepted and len(all_transactions(pipeline)) == 4
    changed = json.dumps([{**ELIGIBILITY, "controlNumber": "999999999"}, bad]).encode()
    reused = intake(submission(changed, name="b.json", submission_id="delivery-1"))  # an id reused wrongly
    assert reused.accepted == [] and "used before with a different request" in reused.rejected[0].reason
    assert len(all_transactions(pipeline)) == 4


def test_a_refused_file_records_nothing(pipeline: Pipeline) -> None:
    intake = PipelineIntake(pipeline, limits=Limits(max_bytes=50))
    receipt = intake(submission(json.dumps(ELIGIBILITY).encode(), name="e.json"))
    assert receipt.refused_whole and "above the limit of 50 bytes" in receipt.rejected[0].reason
    receipt = PipelineIntake(pipeline)(submission(b"\x00\x01binary", name="e.json"))
    assert receipt.refused_whole and receipt.rejected[0].item == "line 1"
    assert all_transactions(pipeline) == []


def test_csv_check_problems_come_back_as_row_and_column(pipeline: Pipeline) -> None:
    mapping = load_mapping(INGEST / "claim-lines.yaml")
    text = (INGEST / "claims-2024-05.csv").read_text().replace(",87070,", ",8707,")
    receipt = PipelineIntake(pipeline, {"acme": mapping})(submission(text.encode(), name="claims-1.csv"))
    assert len(receipt.accepted) == 1
    (problem,) = receipt.rejected
    assert (problem.item, problem.field, problem.column) == ("line 3", "CPT", True)
    assert str(problem).startswith("line 3, column CPT: ")
    record = pipeline.repository.require(problem.transaction_id, submitter_id="acme")
    assert record.state is State.REJECTED
    assert record.correlation.patient_control_number_hmac == pipeline.repository.pcn_digest("PCN-0001")
    accepted = pipeline.payload_of(receipt.accepted[0], PayloadKind.REQUEST_JSON)
    assert pipeline.read(accepted) == canonical_json(json.loads(pipeline.read(accepted)))


PHI_NAME = "smith_john_19800101_MBR123.csv"  # a submitter's file name that is PHI


def raw_columns(pipeline: Pipeline) -> list[tuple[str | None, str | None]]:
    """(idempotency_key, reply_to) of every row, as the database holds them."""
    with pipeline.repository.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(Transaction.idempotency_key, Transaction.reply_to))]


def test_a_file_name_reaches_the_store_only_sealed_or_digested(pipeline: Pipeline) -> None:
    reply = ReplyAddress("sftp", f"/homes/{PHI_NAME}/outbound", file=f"{PHI_NAME}.responses.jsonl")
    bad = {**ELIGIBILITY, "controlNumber": "12"}
    content = json.dumps([ELIGIBILITY, bad]).encode()
    delivery = Submission(submitter_id="acme", channel="s3", name=PHI_NAME, content=content, reply=reply,
                          submission_id=f"bucket/in/{PHI_NAME}@v-1")
    intake = PipelineIntake(pipeline)
    first = intake(delivery)
    (rejected,) = first.rejected
    for transaction_id, item in ((first.accepted[0], "record 1"), (rejected.transaction_id, "record 2")):
        record = pipeline.repository.require(transaction_id, submitter_id="acme")
        assert ReplyAddress.from_json(pipeline.reply_to(record)) == reply.for_item(item)  # the name comes back
    columns = raw_columns(pipeline)
    assert len(columns) == 2
    for key, stored in columns:
        assert key is not None and stored is not None
        for part in ("smith", "john", "19800101", "MBR123"):
            assert part not in key and part not in stored
    # the same file handed over again after a crash: the digests meet, nothing is recorded twice
    again = intake(delivery)
    assert again.accepted == first.accepted and again.rejected[0].transaction_id == rejected.transaction_id
    assert len(all_transactions(pipeline)) == 2


def test_reply_addresses_stored_before_sealing_still_read(pipeline: Pipeline) -> None:
    receipt = PipelineIntake(pipeline)(submission(json.dumps(ELIGIBILITY).encode()))
    (transaction_id,) = receipt.accepted
    old = ReplyAddress("folder", "/drop/clinic/outbound", file="x.csv.responses.jsonl", item="line 2").to_json()
    with pipeline.repository.engine.begin() as connection:  # a row written by the release before
        connection.execute(update(Transaction).where(Transaction.id == transaction_id).values(reply_to=old))
    record = pipeline.repository.require(transaction_id, submitter_id="acme")
    assert record.reply_to == old and pipeline.reply_to(record) == old
