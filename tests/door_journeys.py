"""Shared by the door end-to-end tests: the whole pipeline with its doors, what goes in, and what
must come back out.

``door_stack`` runs the pipeline on the embedded default (SQLite, the in-process broker) with the
payer simulator, the door runner and the door reply sinks -- the configuration ``edi run`` and
``edi doors`` build from the partners file and the environment. The sample submitter has the
watched folder and the SFTP account of the sample configuration; ``doors`` adds or replaces its
door entries (S3, AMQP, JMS...), ``env`` is the doors' server settings (``EDI_S3_*``,
``EDI_DOORS_*``).

What goes in is one eligibility request (member SIM00001) and the claims of ``BATCH``: some paid,
some refused by the payer. ``Owed`` says which answers the pipeline owes for them once the door's
receipts named the transactions, and ``check_answers`` holds the answers that came back to it:
exactly those, each about its own request only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.ingest.replies import DoorReplies, answer_file_name
from connectors.ingest.runner import DoorRunner
from connectors.pipeline.runner import PipelineRunner
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, SampleConfig, write_sample_config
from edi.pipeline import Pipeline
from edi.settings import DoorSettings, Settings
from edi.store import ALL_SUBMITTERS, TransactionFilter
from tests.test_payer_sim_rules import claim, eligibility_request
from tests.test_pipeline_e2e import ACCEPTED, BATCH, SFTP_PASSWORD, start_sim

__all__ = ["DOOR_PASSWORD", "MEMBER", "DoorStack", "Owed", "check_answers", "claims_array", "claims_jsonl",
           "door_stack", "eligibility", "owed"]

DOOR_PASSWORD = "door-password-1"
MEMBER = "SIM00001"
ELIGIBILITY = "eligibility.response"
ACK_999, ACK_277CA, PAYMENT_835 = "functional.acknowledgment", "claim.acknowledgment", "claim.payment"


@dataclass
class DoorStack:
    config: SampleConfig
    pipeline: Pipeline
    doors: DoorRunner
    data_dir: Path

    def all_delivered(self, count: int) -> bool:
        """``count`` transactions recorded and every one delivered: all answers have gone out."""
        items = list(self.pipeline.repository.list_transactions(
            TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=1000).items)
        return len(items) >= count and all(t.state.value == "delivered" for t in items)

    def undelivered(self) -> list[str]:
        """For a failure message: each transaction not delivered, with its state history."""
        repository = self.pipeline.repository
        return [f"{t.id} {t.correlation.patient_control_number}: " + " > ".join(
                    f"{e.to_state.value}({e.detail_code})" for e in repository.history(t.id, submitter_id=ALL_SUBMITTERS))
                for t in repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS), limit=1000).items
                if t.state.value != "delivered"]


@contextlib.contextmanager
def door_stack(tmp_path: Path, *, doors: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
               boto_session: Any = None, window_seconds: float = 1.0) -> Iterator[DoorStack]:
    """The pipeline, its runner and the doors, stopped on exit; see the module docstring."""
    data_dir = tmp_path / "data"
    environ = {"EDI_DATA_DIR": str(data_dir), "EDI_SFTP_DOOR_PORT": "0", **(env or {})}
    sim = start_sim(tmp_path / "mailbox")
    try:
        config = write_sample_config(tmp_path / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                     known_hosts_line=sim.known_hosts_line(), sftp_password=SFTP_PASSWORD,
                                     window_seconds=window_seconds, poll_seconds=0.3, doors_dir=tmp_path / "doors",
                                     door_password=DOOR_PASSWORD)
        if doors:
            partners = yaml.safe_load(config.partners_file.read_text())
            partners["submitters"][SUBMITTER_ID]["doors"].update(doors)
            config.partners_file.write_text(yaml.safe_dump(partners))
        pipeline = open_pipeline(Settings.from_env(environ), partners_file=config.partners_file, create_key=True)
        try:
            door_settings = DoorSettings.from_env(environ)
            replies = DoorReplies.from_config(pipeline.partners.submitters, door_settings, boto_session=boto_session)
            runner = PipelineRunner(pipeline, broker_url=f"sqla+sqlite:///{data_dir / 'broker.db'}",
                                    sweep_interval=0.2, poll_interval=0.3, replies=replies).start()
            try:
                with DoorRunner(pipeline, door_settings, boto_session=boto_session) as door_runner:
                    yield DoorStack(config, pipeline, door_runner, data_dir)
            finally:
                runner.stop()
        finally:
            pipeline.repository.engine.dispose()
    finally:
        sim.stop()


# -- what goes in ------------------------------------------------------------------------------------


def eligibility() -> bytes:
    return json.dumps(eligibility_request(MEMBER, "DOE", "19800115").to_json()).encode()


def _claims() -> list[dict[str, Any]]:
    claims = []
    for pcn, member, charges, code, *_rest in BATCH:
        data = claim(pcn, member, charges, code).to_json()
        data["tradingPartnerServiceId"] = "SIMPLAN01"
        claims.append(data)
    return claims


def claims_jsonl() -> bytes:
    """The batch as a file: JSON Lines, one claim a line."""
    return ("\n".join(json.dumps(c) for c in _claims()) + "\n").encode()


def claims_array() -> bytes:
    """The batch as one message: a JSON array of claims."""
    return json.dumps(_claims()).encode()


# -- what must come back -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """The answers owed for one eligibility request and the claims of ``BATCH``, by transaction."""

    eligibility_id: str
    claims: dict[str, str]  # transaction id -> patient control number
    types: dict[str, set[str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(kinds) for kinds in self.types.values())

    def names(self, transaction_ids: Iterable[str] | None = None) -> set[str]:
        """The answer files (``<transaction id>.<type>.json``) owed for these transactions (default all)."""
        ids = self.types if transaction_ids is None else transaction_ids
        return {answer_file_name(tid, {"type": kind}) for tid in ids for kind in self.types[tid]}


def owed(eligibility_receipt: Mapping[str, Any], claims_receipt: Mapping[str, Any]) -> Owed:
    """Read the two receipts the door gave: every request accepted, and what each is owed."""
    assert eligibility_receipt["status"] == "accepted", eligibility_receipt
    assert claims_receipt["status"] == "accepted", claims_receipt
    (elig_id,) = eligibility_receipt["accepted"]
    claim_ids = claims_receipt["accepted"]
    by_id = {tid: row[0] for tid, row in zip(claim_ids, BATCH, strict=True)}  # the receipt keeps input order
    types = {elig_id: {ELIGIBILITY}}
    for tid, pcn in by_id.items():
        types[tid] = {ACK_999, ACK_277CA} | ({PAYMENT_835} if pcn in ACCEPTED else set())
    return Owed(elig_id, by_id, types)


def check_answers(due: Owed, answers: Mapping[str, Mapping[str, Any]]) -> None:
    """``answers`` (by name, receipts left out) are exactly those owed, each about its own request."""
    assert set(answers) == due.names(), (sorted(due.names() - set(answers)), sorted(set(answers) - due.names()))
    for name, document in answers.items():
        assert name == answer_file_name(document["data"]["transactionId"], document), name
    response = answers[answer_file_name(due.eligibility_id, {"type": ELIGIBILITY})]["data"]
    assert response["final"] is True
    assert response["response"]["subscriber"]["memberId"] == MEMBER
    assert response["response"]["controlNumber"] == "987654321"  # the 271 answers this request
    for tid, pcn in due.claims.items():
        bodies = {kind: answers[answer_file_name(tid, {"type": kind})] for kind in due.types[tid]}
        assert bodies[ACK_999]["data"]["status"] == "accepted", pcn
        assert bodies[ACK_277CA]["data"]["status"] == ("accepted" if pcn in ACCEPTED else "rejected"), pcn
        if pcn in ACCEPTED:
            assert bodies[PAYMENT_835]["data"]["status"] == "paid", pcn
        others = [p for p in due.claims.values() if p != pcn]
        for kind, body in bodies.items():
            text = json.dumps(body["data"])
            assert f'"{pcn}"' in text, (pcn, kind)  # about this claim ...
            assert not [p for p in others if f'"{p}"' in text], (pcn, kind)  # ... and no other
