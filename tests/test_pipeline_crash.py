"""Crash recovery: worker processes killed with SIGKILL in the middle of a 1,000-claim run.

Two `edi worker` processes share the store and broker -- the embedded default (SQLite store and
broker), and PostgreSQL with RabbitMQ as in the compose stack. They are killed mid-run and
restarted; afterwards every claim must reach a terminal state, each must have reached the payer
exactly once (the simulator's log of adjudicated claims), and each response must have been
delivered to the callback, duplicates carrying the webhook-id of the first delivery.

Two half-done states a kill leaves behind are replayed directly in the store below. The kill
used to lose, about one run in three, one claim's 277CA: the 277CA being processed by
a killed worker stays leased until the embedded broker's visibility timeout, so the batch's 835
(one second later) is matched concurrently with it. The claim lookup asked for the payer's claim
control number and then, in a second query, for the CLM01 of claims without one; an 835 that
recorded the number in between hid the claim from both. The first test below replays that
interleaving. And a worker killed after the final answer's delivery was recorded but before the
transaction moved to ``delivered`` left it owing nothing yet never done: the redelivered message
found nothing to send and stopped there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event

from connectors.delivery.receiver import CallbackReceiver
from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from connectors.pipeline.workers import deliver_pending
from edi.keys import KeyRing
from edi.lookup import LookupKey
from edi.partners import PartnersConfig
from edi.pipeline import Pipeline, delivery_plan, intake
from edi.pipeline.notices import EventType, notice
from edi.settings import Settings
from edi.store import (
    ALL_SUBMITTERS,
    Correlation,
    Kind,
    NewTransaction,
    Repository,
    State,
    TransactionFilter,
    make_engine,
    migrate,
)
from edi.store.models import DeliveryOutcome
from tests.test_payer_sim_rules import claim
from tests.test_pipeline_e2e import EMBEDDED, RABBITMQ, Backend, purge_queues

pytest_plugins = ("tests.servers.postgres", "tests.servers.rabbitmq")

FIXTURES = Path(__file__).parent / "fixtures" / "payer_sim"
CLAIMS = 1000
LOOKUP_KEY = LookupKey(b"c" * 32)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'edi.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    migrate(url)
    return url


def test_a_payer_number_recorded_while_a_claim_is_looked_up_does_not_hide_it(store_url: str) -> None:
    """A 277CA part and an 835 part of the same claim, matched at the same time by two workers: the
    835 records the payer's claim control number while the 277CA's lookup runs. The lookup must
    still find the claim (before the fix: by neither key, so the 277CA went unmatched)."""
    engine, other = make_engine(store_url), make_engine(store_url)
    try:
        repository = Repository(engine, lookup_key=LOOKUP_KEY)
        created = repository.create(NewTransaction(
            submitter_id="clinic-a", kind=Kind.CLAIM, partner_id="simplan", document_type="837P",
            correlation=Correlation(patient_control_number="PCN-7", isa13=7, gs06=7, st02=1),
        ))
        claim_id = created.transaction.id
        recorded: list[str] = []

        def concurrent_835(_conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
            # right after the lookup's first statement: another worker commits the payer's number
            if not recorded and statement.lstrip().upper().startswith("SELECT") and "payer_claim" in statement:
                Repository(other, lookup_key=LOOKUP_KEY).set_correlation(claim_id, Correlation(payer_claim_control_number="SIM0000007"))
                recorded.append(statement)

        event.listen(engine, "after_cursor_execute", concurrent_835)
        found = repository.find_for_claim_response(
            "simplan", patient_control_number="PCN-7", payer_claim_control_number="SIM0000007")
        event.remove(engine, "after_cursor_execute", concurrent_835)
        assert recorded, "the concurrent commit did not happen during the lookup"
        assert [r.id for r in found] == [claim_id]
        # afterwards the payer's number alone finds it, and a claim of another CLM01 is not confused with it
        assert [r.id for r in repository.find_for_claim_response(
            "simplan", patient_control_number="OTHER", payer_claim_control_number="SIM0000007")] == [claim_id]
        assert repository.find_for_claim_response(
            "simplan", patient_control_number="OTHER", payer_claim_control_number="SIM0000008") == []
    finally:
        engine.dispose()
        other.dispose()


def test_a_worker_killed_between_the_final_delivery_and_its_state_move_is_finished_on_redelivery(
    store_url: str, tmp_path: Path,
) -> None:
    pipeline = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data"), "EDI_DATABASE_URL": store_url}),
                             partners=PartnersConfig(), create_key=True)
    try:
        repository = pipeline.repository
        tid = repository.create(NewTransaction(
            submitter_id="clinic-a", kind=Kind.CLAIM, partner_id="simplan", document_type="837P",
            correlation=Correlation(patient_control_number="PCN-8", isa13=8, gs06=8, st02=1),
        )).transaction.id
        for state in (State.VALIDATED, State.QUEUED, State.SENT):
            repository.transition(tid, state)
        record = repository.require(tid, submitter_id=ALL_SUBMITTERS)
        ack = notice(pipeline, record, EventType.FUNCTIONAL_ACK, document_type="999", final=False, status="accepted")
        record = repository.transition(tid, State.ACKNOWLEDGED, attach=[ack.attachment])

        def deliver_all() -> None:  # what the delivery worker records for each POST that got a 2xx
            for item in delivery_plan.pending(pipeline, record):
                delivery_plan.record_attempt(pipeline, item, "callback", 1, DeliveryOutcome.SUCCEEDED, status=200)

        deliver_all()  # an intermediate answer through: nothing to finish, the claim waits
        assert deliver_pending(pipeline, tid, None, None) == "waiting"
        assert repository.require(tid, submitter_id=ALL_SUBMITTERS).state is State.ACKNOWLEDGED

        paid = notice(pipeline, record, EventType.CLAIM_PAYMENT, document_type="835", final=True, status="paid")
        record = repository.transition(tid, State.RESPONDED, attach=[paid.attachment])
        deliver_all()  # ... and the worker is killed before plan.finish
        assert repository.require(tid, submitter_id=ALL_SUBMITTERS).state is State.RESPONDED

        # the redelivered message (no loop or sender: nothing may be POSTed again)
        assert deliver_pending(pipeline, tid, None, None) == "delivered"
        history = repository.history(tid, submitter_id=ALL_SUBMITTERS)
        assert (history[-1].to_state, history[-1].detail_code) == (State.DELIVERED, "delivery:resumed")
    finally:
        pipeline.repository.engine.dispose()


def _workers(env: dict[str, str], logs: Path, count: int = 2) -> list[subprocess.Popen[bytes]]:
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for _ in range(count):
        with (logs / f"worker-{len(list(logs.iterdir()))}.log").open("wb") as err:  # a pipe nobody reads blocks
            processes.append(subprocess.Popen([sys.executable, "-m", "edi", "worker"], env=env,
                                              stdout=subprocess.DEVNULL, stderr=err))
    return processes


@pytest.fixture(params=[EMBEDDED, RABBITMQ])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == EMBEDDED:
        return Backend(EMBEDDED, f"sqla+sqlite:///{tmp_path / 'data' / 'broker.db'}")
    url = request.getfixturevalue("rabbitmq_url")
    purge_queues(url)
    return Backend(RABBITMQ, url, request.getfixturevalue("postgres_url"))


def _states(pipeline, ids: list[str]) -> Counter[str]:  # noqa: ANN001
    """States of the run's claims in one query: cheap enough to poll while the workers race."""
    from sqlalchemy import func, select

    from edi.store.models import Transaction

    with pipeline.repository.engine.connect() as connection:
        rows = connection.execute(select(Transaction.state, func.count()).where(Transaction.id.in_(ids))
                                  .group_by(Transaction.state)).all()
    return Counter({state: count for state, count in rows})


def test_kill_9_mid_batch_loses_nothing_and_sends_nothing_twice(tmp_path: Path, backend: Backend) -> None:
    password = "sim-password-1"
    sim = EmbeddedPayerSim(FIXTURES / "roster.yaml", FIXTURES / "rules.yaml", tmp_path / "mailbox",
                           sftp_password=password, payment_delay=1.0).start()
    receiver: CallbackReceiver | None = None
    processes: list[subprocess.Popen[bytes]] = []
    try:
        first = write_sample_config(tmp_path / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                    known_hosts_line=sim.known_hosts_line(), sftp_password=password)
        receiver = CallbackReceiver(first.webhook_secret).start()
        config = write_sample_config(
            tmp_path / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port, known_hosts_line=sim.known_hosts_line(),
            sftp_password=password, callback_url=receiver.url, webhook_secret=first.webhook_secret,
            api_key=first.api_key, window_seconds=0.5, max_claims_per_file=200, poll_seconds=0.3,
        )
        (tmp_path / "data").mkdir()
        KeyRing({"k1": os.urandom(32)}, "k1").save(tmp_path / "data" / "master.keys")  # the data dir's ring
        env = {
            **os.environ,
            **backend.env(tmp_path / "data"),
            "EDI_PARTNERS_FILE": str(config.partners_file),
            "EDI_BROKER_VISIBILITY_TIMEOUT": "5",  # the embedded broker's lease
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        pipeline = open_pipeline(Settings.from_env(env), partners_file=config.partners_file)
        ids = []
        for number in range(CLAIMS):
            member = "SIM00001" if number % 2 else "SIM00002"
            data = claim(f"CRASH-{number:05d}", member).to_json()
            data["tradingPartnerServiceId"] = "SIMPLAN01"
            record, _ = intake.accept(pipeline, submitter_id=SUBMITTER_ID, request_kind="professional", data=data)
            ids.append(record.id)

        processes = _workers(env, tmp_path / "logs")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill once some claims are sent and some are not yet
            states = _states(pipeline, ids)
            done = sum(states[s] for s in ("sent", "acknowledged", "responded", "delivered"))
            if 0 < done < CLAIMS * 0.8 and states["delivered"] < CLAIMS * 0.5:
                break
            time.sleep(0.02)
        for process in processes:
            process.send_signal(signal.SIGKILL)
        for process in processes:
            process.wait(10)
        killed_at = _states(pipeline, ids)
        assert sum(killed_at[s] for s in ("received", "validated", "queued", "sent", "acknowledged",
                                          "responded")) > 0, killed_at  # really mid-run

        processes = _workers(env, tmp_path / "logs")
        deadline = time.monotonic() + 1800  # generous: the machine is shared
        while time.monotonic() < deadline:
            states = _states(pipeline, ids)
            if states["delivered"] + states["failed"] + states["rejected"] == CLAIMS:
                break
            time.sleep(1)
        assert states == Counter({"delivered": CLAIMS}), (killed_at, states)

        # each claim reached the payer exactly once
        lines = [json.loads(line) for line in (tmp_path / "mailbox" / "received.jsonl").read_text().splitlines()]
        seen = Counter(line["patient_control_number"] for line in lines)
        assert len(seen) == CLAIMS and set(seen.values()) == {1}

        # every response delivered; a redelivered one carries the webhook-id of the first
        by_claim: dict[str, set[str]] = {}
        ids_by_body: dict[str, set[str]] = {}
        for request in receiver.requests:
            if not request.verified:
                continue
            body = request.json()
            pcn = body["data"]["patientControlNumber"]
            by_claim.setdefault(pcn, set()).add(body["type"])
            ids_by_body.setdefault(request.body.decode(), set()).add(request.webhook_id)
        assert len(by_claim) == CLAIMS
        kinds_seen = Counter(frozenset(kinds) for kinds in by_claim.values())
        from sqlalchemy import text

        with pipeline.repository.engine.connect() as connection:
            documents = connection.execute(text(
                "select name, document_type, outcome, matched, processed_at is not null from inbound_documents"
            )).all()
        assert set(kinds_seen) == {frozenset({"functional.acknowledgment", "claim.acknowledgment", "claim.payment"})}, (
            kinds_seen, _trail(pipeline, ids, [p for p, k in by_claim.items() if len(k) < 3][:3]), documents)
        assert all(len(webhook_ids) == 1 for webhook_ids in ids_by_body.values())
        page = pipeline.repository.list_transactions(TransactionFilter(ALL_SUBMITTERS, states=frozenset({State.FAILED})))
        assert page.items == []
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
        if receiver is not None:
            receiver.stop()
        sim.stop()


def _trail(pipeline: Pipeline, ids: list[str], missing: list[str]) -> list[str]:
    """What the store holds for claims whose callbacks are incomplete (a failure's evidence:
    history, payloads and delivery attempts, with times)."""
    out = []
    for pcn in missing:
        tid = ids[int(pcn.rsplit("-", 1)[1])]
        repository = pipeline.repository
        history = [(h.from_state, h.to_state, h.detail_code, h.actor, f"{h.at:%H:%M:%S.%f}")
                   for h in repository.history(tid, submitter_id=ALL_SUBMITTERS)]
        payloads = [(p.kind.value, p.document_type, f"{p.created_at:%H:%M:%S.%f}")
                    for p in repository.payloads(tid, submitter_id=ALL_SUBMITTERS)]
        attempts = [(d.outcome.value, d.webhook_id[:12], f"{d.attempted_at:%H:%M:%S.%f}")
                    for d in repository.deliveries(tid, submitter_id=ALL_SUBMITTERS)]
        out.append(f"{pcn} {tid}: history {history}; payloads {payloads}; attempts {attempts}")
    return out
