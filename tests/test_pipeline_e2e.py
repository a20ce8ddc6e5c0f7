"""The whole pipeline end to end, on each backend the engine supports.

``embedded``: the default a new user gets (SQLite store, embedded SQLite broker).
``rabbitmq+postgres``: what the Docker compose stack runs (the store on PostgreSQL,
``tests/servers/postgres.py``; the stage queues on RabbitMQ, ``tests/servers/rabbitmq.py``).

The payer simulator (CORE endpoint and SFTP mailbox) runs in threads, the API is served on
loopback and a ``CallbackReceiver`` verifies every Standard Webhooks signature. The stage
workers, outbox relay, sweeper and mailbox poller run under ``PipelineRunner`` in the test
process, or -- where a test asks for worker processes -- as separate ``python -m edi worker``
processes sharing the store and broker, as in the compose stack. Each test builds its own stack
in a temporary directory and waits on concrete states with deadlines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from connectors.api.app import create_app
from connectors.core import client as core_client
from connectors.delivery.receiver import CallbackReceiver
from connectors.delivery.webhooks import WebhookSender, new_secret
from connectors.http_server import ServerThread
from connectors.loop import LoopThread
from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.runner import PipelineRunner
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import PARTNER_ID, SampleConfig, write_sample_config
from connectors.pipeline.sftp_transport import SftpTransports
from connectors.pipeline.workers import deliver_pending
from connectors.queues.topology import connect, declare
from edi.pipeline import Pipeline
from edi.pipeline.context import Timings
from edi.resilience import CircuitBreakers, CircuitState, RetryPolicy
from edi.settings import Settings
from edi.store import ALL_SUBMITTERS
from edi.store.models import InboundDocument
from tests.servers.http import serve
from tests.test_payer_sim_rules import BATCH, claim, eligibility_request

pytest_plugins = ("tests.servers.postgres", "tests.servers.rabbitmq")

HERE = Path(__file__).parent
REPO = HERE.parent
EMBEDDED, RABBITMQ = "embedded", "rabbitmq+postgres"
ROSTER = HERE / "fixtures" / "payer_sim" / "roster.yaml"
RULES = HERE / "fixtures" / "payer_sim" / "rules.yaml"
SFTP_PASSWORD = "sim-pw-123456"
TERMINAL = {"delivered", "failed", "rejected"}
ACCEPTED = {pcn for pcn, _m, _c, _p, accepted, _s in BATCH if accepted}
REJECTED = {pcn for pcn, _m, _c, _p, accepted, _s in BATCH if not accepted}


def _recording(app: Any, bodies: list[bytes]) -> Any:
    """Wrap the simulator's CORE app so the test sees every request body it received."""

    async def wrapped(scope, receive, send):  # noqa: ANN001, ANN202 - ASGI
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive():  # noqa: ANN202
            message = await receive()
            if message.get("type") == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            await app(scope, recording_receive, send)
        finally:
            bodies.append(b"".join(chunks))

    return wrapped


def start_sim(mailbox: Path, *, core_port: int = 0, sftp_port: int = 0,
              core_bodies: list[bytes] | None = None) -> EmbeddedPayerSim:
    sim = EmbeddedPayerSim(ROSTER, RULES, mailbox, core_port=core_port, sftp_port=sftp_port,
                           sftp_password=SFTP_PASSWORD, payment_delay=0.3, poll_seconds=0.1)
    if core_bodies is not None:
        port = sim.http.port
        sim.http.sock.close()
        sim.http = ServerThread(_recording(sim.app, core_bodies), sim.host, port)
    return sim.start()


@dataclass(frozen=True)
class Backend:
    """Where the store and the queues live: ``database_url`` None is the embedded SQLite store."""

    name: str
    broker_url: str
    database_url: str | None = None

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {"EDI_DATA_DIR": str(data_dir), "EDI_BROKER_URL": self.broker_url}
        if self.database_url is not None:
            env["EDI_DATABASE_URL"] = self.database_url
        return env


def purge_queues(url: str) -> None:
    """Empty every stage queue and DLQ: the RabbitMQ node lives for the whole test session."""
    with connect(url) as connection:
        for queue, dlq in declare(connection).values():
            queue(connection.default_channel).purge()
            dlq(connection.default_channel).purge()


@pytest.fixture(params=[EMBEDDED, RABBITMQ])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == EMBEDDED:
        return Backend(EMBEDDED, f"sqla+sqlite:///{tmp_path / 'data' / 'broker.db'}")
    url = request.getfixturevalue("rabbitmq_url")
    purge_queues(url)
    return Backend(RABBITMQ, url, request.getfixturevalue("postgres_url"))


@dataclass
class Workers:
    """``python -m edi worker`` processes (every stage, relay, sweeper and pollers each), their
    stderr in files (a pipe nobody reads would block a chatty worker)."""

    env: dict[str, str]
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int) -> Workers:
        """Start ``count`` more workers and wait until each runs its stages."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started = []
        for _ in range(count):
            name = f"worker-{len(self.processes)}"
            with (self.log_dir / f"{name}.log").open("wb") as err, (self.log_dir / f"{name}.out").open("wb") as out:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "edi", "worker"], env=self.env, stdout=out, stderr=err))
            started.append(self.log_dir / f"{name}.out")
        ready = wait_until(lambda: all("worker: stages" in path.read_text() for path in started) or not self.alive(),
                           timeout=120)
        assert ready and self.alive(), self.logs()
        return self

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("worker-*.log")))

    def stop(self) -> None:
        """SIGTERM each worker (it finishes the message in hand and exits)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@dataclass
class Stack:
    tmp: Path
    sim: EmbeddedPayerSim
    receiver: CallbackReceiver
    config: SampleConfig
    settings: Settings
    pipeline: Pipeline
    runner: PipelineRunner | None  # None: the stages run in ``workers``
    api: httpx.Client
    core_bodies: list[bytes] = field(default_factory=list)
    backend: Backend | None = None
    workers: Workers | None = None

    @property
    def mailbox(self) -> Path:
        return self.tmp / "mailbox"

    def state(self, transaction_id: str) -> str:
        return self.pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS).state.value

    def wait_states(self, ids: list[str], wanted: set[str] = TERMINAL, timeout: float = 20.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = {i: self.state(i) for i in ids}
            if all(s in wanted for s in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(0.1)

    def received_claims(self) -> list[dict[str, Any]]:
        log = self.mailbox / "received.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def archived_837s(self) -> list[Path]:
        return sorted(p for p in (self.mailbox / "archive").iterdir() if "ST*837*" in p.read_text(errors="replace"))

    def post_claims(self, batch: list[tuple[Any, ...]]) -> dict[str, str]:
        """POST the claims as one array; returns patient control number -> transaction id."""
        bodies = []
        for pcn, member, charges, code, *_rest in batch:
            data = claim(pcn, member, charges, code).to_json()
            data["tradingPartnerServiceId"] = "SIMPLAN01"
            bodies.append(data)
        answer = self.api.post("/claims", json=bodies)
        assert answer.status_code == 202, answer.text
        items = answer.json()["transactions"]
        assert len(items) == len(batch)
        return {row[0]: item["id"] for row, item in zip(batch, items, strict=True)}


@pytest.fixture
def make_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[Callable[..., Stack]]:
    """``make_stack(timings, worker_processes=0, window_seconds=0.5)``: with ``worker_processes`` the
    stages run in that many ``edi worker`` processes (default timings) instead of a ``PipelineRunner``
    here; ``window_seconds`` is how long the partner's outbox gathers claims into one 837."""
    # CORE clients share a process-wide circuit breaker per partner id (open 30 s): give each test
    # its own, open for 1 s, so a test's outage neither leaks into the next nor outlasts the retries.
    monkeypatch.setattr(core_client, "DEFAULT_BREAKERS", CircuitBreakers(failure_threshold=5, open_seconds=1.0))
    with ExitStack() as exits:

        def build(timings: Timings | None = None, worker_processes: int = 0, window_seconds: float = 0.5, *,
                  breaker: dict[str, Any] | None = None, core_options: dict[str, Any] | None = None) -> Stack:
            core_bodies: list[bytes] = []
            sim = start_sim(tmp_path / "mailbox", core_bodies=core_bodies)
            # The stack may replace sim later (partner-down test): stop whatever is current.
            holder: dict[str, Any] = {}
            exits.callback(lambda: holder["stack"].sim.stop())
            secret = new_secret()
            receiver = CallbackReceiver(secret).start()
            exits.callback(receiver.stop)
            config = write_sample_config(
                tmp_path / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                known_hosts_line=sim.known_hosts_line(), sftp_password=SFTP_PASSWORD, callback_url=receiver.url,
                webhook_secret=secret, window_seconds=window_seconds, poll_seconds=0.3,
            )
            if breaker is not None:  # the partner's own circuit breaker settings
                text = yaml.safe_load(config.partners_file.read_text())
                text["partners"][PARTNER_ID]["transport"]["core_soap"]["circuit_breaker"] = breaker
                config.partners_file.write_text(yaml.safe_dump(text))
            env = {**backend.env(tmp_path / "data"), "EDI_PARTNERS_FILE": str(config.partners_file)}
            settings = Settings.from_env(env)
            pipeline = open_pipeline(settings, partners_file=config.partners_file, create_key=True,
                                     timings=timings or Timings(stale_after=30))
            exits.callback(pipeline.repository.engine.dispose)
            workers = Workers({**os.environ, **env, "PYTHONPATH": str(REPO)}, tmp_path / "logs")
            exits.callback(workers.stop)
            runner = None
            if worker_processes:
                workers.start(worker_processes)
            else:
                runner = PipelineRunner(pipeline, broker_url=backend.broker_url, sweep_interval=0.2).start()
                exits.callback(runner.stop)
            app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline,
                             core_options=core_options)
            url = exits.enter_context(serve(app))
            api = exits.enter_context(
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {config.api_key}"}, timeout=30)
            )
            stack = Stack(tmp_path, sim, receiver, config, settings, pipeline, runner, api, core_bodies,
                          backend, workers)
            holder["stack"] = stack
            return stack

        yield build


def callbacks_for(receiver: CallbackReceiver, pcn: str) -> list[Any]:
    return [r for r in receiver.deliveries if pcn in r.body.decode()]


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# ---------------------------------------------------------------------------------- eligibility


def eligibility(stack: Stack, member_id: str, last: str, dob: str) -> httpx.Response:
    return stack.api.post("/eligibility", json=eligibility_request(member_id, last, dob).to_json())


def test_eligibility_through_the_api_answers_with_the_271(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    answer = eligibility(stack, "SIM00001", "DOE", "19800115")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    tid = answer.headers["Location"].removeprefix("/transactions/")
    assert body["type"] == "eligibility.response"
    assert body["transactionId"] == tid
    assert body["status"] == "complete"
    response = body["response"]
    assert response["controlNumber"] == "987654321"
    subscriber = response["subscriber"]
    assert (subscriber["memberId"], subscriber["firstName"], subscriber["lastName"]) == ("SIM00001", "JOHN", "DOE")
    assert response["planInformation"] == {"groupNumber": "GRP100", "groupDescription": "GOLD PPO"}
    assert [(s["statusCode"], s["planDetails"]) for s in response["planStatus"]] == [("1", "GOLD PPO")]
    assert "errors" not in response
    # The payer's share of the latency, for callers and the benchmark: Server-Timing core;dur=<ms>.
    name, _, duration = answer.headers["Server-Timing"].partition(";dur=")
    assert name == "core" and float(duration) > 0

    view = stack.api.get(f"/transactions/{tid}")
    assert view.status_code == 200
    data = view.json()
    assert data["state"] == "delivered"
    assert [h["state"] for h in data["history"]] == ["received", "validated", "queued", "sent", "responded", "delivered"]
    assert data["history"][-2]["detail"] == "271"
    assert [r["type"] for r in data["responses"]] == ["eligibility.response"]
    assert data["responses"][0]["response"]["subscriber"]["memberId"] == "SIM00001"

    # The 270 on the wire carries our transaction id as the clearinghouse trace (TRN*1, TRN03 9+sender).
    sent = [b for b in stack.core_bodies if b"ST*270*" in b]
    assert len(sent) == 1
    assert f"TRN*1*{tid}*9EDIENGINE~".encode() in sent[0]
    assert b"TRN*1*987654321*9EDIENGINE~" in sent[0]

    unknown = eligibility(stack, "NOBODY01", "DOE", "19800115")
    assert unknown.status_code == 200, unknown.text
    result = unknown.json()["response"]
    assert [(e["code"], e["location"]) for e in result["errors"]] == [("75", "Loop 2100C")]
    assert "benefitsInformation" not in result

    inactive = eligibility(stack, "SIM00003", "POE", "19600101")
    assert inactive.status_code == 200, inactive.text
    result = inactive.json()["response"]
    assert [b["code"] for b in result["benefitsInformation"]] == ["6"]
    assert [s["statusCode"] for s in result["planStatus"]] == ["6"]
    assert "inactive" in result["planStatus"][0]["status"].lower()
    assert result["planDateInformation"]["planEnd"] == "20001231"

    # Answered in the request: no callbacks, and each request was sent to CORE once.
    assert stack.receiver.requests == []
    assert len([b for b in stack.core_bodies if b"ST*270*" in b]) == 3


# ---------------------------------------------------------------------------------- claims


def assert_claim_callbacks(stack: Stack, ids: dict[str, str]) -> None:
    """Every claim got 999 + 277CA (+ 835 when accepted), verified, each about its own claim only."""
    assert stack.receiver.rejected == []
    assert all(r.verified for r in stack.receiver.requests)
    by_transaction: dict[str, list[dict[str, Any]]] = {}
    for request in stack.receiver.deliveries:
        body = request.json()
        by_transaction.setdefault(body["data"]["transactionId"], []).append(body)
    for pcn, tid in ids.items():
        bodies = by_transaction.get(tid, [])
        types = sorted(b["type"] for b in bodies)
        expected = ["claim.acknowledgment", "functional.acknowledgment"]
        if pcn in ACCEPTED:
            expected = ["claim.acknowledgment", "claim.payment", "functional.acknowledgment"]
        assert types == expected, (pcn, types)
        statuses = {b["type"]: b["data"]["status"] for b in bodies}
        assert statuses["functional.acknowledgment"] == "accepted"
        assert statuses["claim.acknowledgment"] == ("accepted" if pcn in ACCEPTED else "rejected"), pcn
        if pcn in ACCEPTED:
            assert statuses["claim.payment"] == "paid"
        others = [p for p in ids if p != pcn]
        for body in bodies:
            text = json.dumps(body)
            assert f'"{pcn}"' in text, (pcn, body["type"])
            leaked = [p for p in others if f'"{p}"' in text]
            assert leaked == [], (pcn, body["type"], leaked)


def test_claim_batch_goes_in_one_file_and_every_claim_is_answered(make_stack: Callable[..., Stack]) -> None:
    # Two `edi worker` processes compete for every stage. The 837 window is wider than with the
    # runner here: the claims are translated by two processes that share the machine with the test
    # (and, on a busy machine, with much else).
    stack = make_stack(worker_processes=2, window_seconds=10.0)
    ids = stack.post_claims(BATCH)
    states = stack.wait_states(list(ids.values()), timeout=90)
    assert set(states.values()) == {"delivered"}, (states, stack.workers and stack.workers.logs())

    assert len(stack.archived_837s()) == 1
    received = stack.received_claims()
    assert sorted(r["patient_control_number"] for r in received) == sorted(ids)
    assert {r["patient_control_number"] for r in received if r["accepted"]} == ACCEPTED
    assert len({r["interchange"] for r in received}) == 1

    assert_claim_callbacks(stack, ids)
    for pcn, tid in ids.items():
        view = stack.api.get(f"/transactions/{tid}").json()
        assert view["state"] == "delivered"
        assert view["patientControlNumber"] == pcn
        types = [r["type"] for r in view["responses"]]
        expected = ["functional.acknowledgment", "claim.acknowledgment"]
        if pcn in ACCEPTED:
            expected.append("claim.payment")
        # Two workers may match the 835 before the 277CA (a late answer is recorded all the same).
        assert sorted(types) == sorted(expected), (pcn, types)
        states_seen = [h["state"] for h in view["history"]]
        assert states_seen[:4] == ["received", "validated", "queued", "sent"]
        assert states_seen[-1] == "delivered"


# ---------------------------------------------------------------------------------- partner down


def test_partner_down_then_back_everything_is_delivered(make_stack: Callable[..., Stack]) -> None:
    # The 837 window is wide enough for the runner to translate the four claims on a busy machine:
    # the test asserts they go out as one file once the partner is back.
    stack = make_stack(Timings(stale_after=30, transport_retry_base=0.2, transport_retry_cap=1.0), window_seconds=3.0)
    core_port, sftp_port = stack.sim.http.port, stack.sim.sftp_port
    stack.sim.stop()

    batch = BATCH[:4]
    ids = stack.post_claims(batch)
    answer = eligibility(stack, "SIM00001", "DOE", "19800115")
    assert answer.status_code == 202, answer.text
    eligibility_id = answer.json()["id"]
    everything = [*ids.values(), eligibility_id]

    # Nothing gets through while the partner is down.
    states = stack.wait_states(everything, timeout=2.5)
    assert not set(states.values()) & TERMINAL, states
    assert {states[i] for i in ids.values()} <= {"validated", "queued"}, states
    assert stack.receiver.requests == []

    stack.sim = start_sim(stack.mailbox, core_port=core_port, sftp_port=sftp_port)
    states = stack.wait_states(everything, timeout=30)
    assert set(states.values()) == {"delivered"}, states

    assert len(stack.archived_837s()) == 1
    assert sorted(r["patient_control_number"] for r in stack.received_claims()) == sorted(ids)
    assert_claim_callbacks(stack, ids)
    answered = [r.json() for r in stack.receiver.deliveries if r.json()["data"]["transactionId"] == eligibility_id]
    assert [b["type"] for b in answered] == ["eligibility.response"]
    details = [e.detail_code for e in stack.pipeline.repository.history(eligibility_id, submitter_id=ALL_SUBMITTERS)]
    assert "core:unavailable" in details  # the API's own attempt failed and was handed to the stages
    assert details[-3:] == ["core:sending", "271", "http:200"]
    assert answered[0]["data"]["response"]["subscriber"]["memberId"] == "SIM00001"


def test_api_circuit_breaker_follows_the_partner_settings_across_a_simulator_restart(
    make_stack: Callable[..., Stack],
) -> None:
    """The API's CORE pool takes client options like the workers' and its breaker is the partner's:
    two refused calls open it (threshold 2 from the partner file), the next request is not even
    tried, and one second later (open_seconds 1) a trial reaches the restarted simulator."""
    breakers = CircuitBreakers()  # defaults 5 / 30 s: the partner's settings must win
    one_try = RetryPolicy(base=0.05, cap=0.1, max_attempts=1)
    stack = make_stack(Timings(stale_after=30, transport_retry_base=0.2, transport_retry_cap=1.0),
                       breaker={"failure_threshold": 2, "open_seconds": 1.0},
                       core_options={"breakers": breakers, "retry": one_try})
    core_port, sftp_port = stack.sim.http.port, stack.sim.sftp_port
    stack.sim.stop()

    def details(transaction_id: str) -> list[str | None]:
        return [e.detail_code for e in stack.pipeline.repository.history(transaction_id, submitter_id=ALL_SUBMITTERS)]

    refused = []
    for _ in range(2):
        answer = eligibility(stack, "SIM00001", "DOE", "19800115")
        assert answer.status_code == 202, answer.text
        refused.append(answer.json()["id"])
        assert "core:unavailable" in details(refused[-1])
    breaker = breakers.for_partner(PARTNER_ID)
    assert (breaker.failure_threshold, breaker.open_seconds) == (2, 1.0)
    assert breaker.state is CircuitState.OPEN

    answer = eligibility(stack, "SIM00001", "DOE", "19800115")
    assert answer.status_code == 202, answer.text
    refused.append(answer.json()["id"])
    assert "core:circuit-open" in details(refused[-1])  # failed fast: nothing was tried

    stack.sim = start_sim(stack.mailbox, core_port=core_port, sftp_port=sftp_port)
    assert wait_until(lambda: breaker.state is CircuitState.HALF_OPEN, timeout=5)
    answer = eligibility(stack, "SIM00001", "DOE", "19800115")
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"]["subscriber"]["memberId"] == "SIM00001"
    assert breaker.state is CircuitState.CLOSED
    # What the API handed to the stages while the circuit was open is answered, nothing is lost.
    states = stack.wait_states(refused, timeout=30)
    assert set(states.values()) == {"delivered"}, states


# ---------------------------------------------------------------------------------- duplicate interchange


def test_duplicate_interchange_gets_ta1_025_and_is_ignored(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    ids = stack.post_claims([BATCH[0], BATCH[3]])
    states = stack.wait_states(list(ids.values()), timeout=30)
    assert set(states.values()) == {"delivered"}, states
    (archived,) = stack.archived_837s()
    name, data = archived.name.split("_", 1)[1], archived.read_bytes()
    isa13 = data.decode().split("*")[13]

    before_states = {tid: stack.state(tid) for tid in ids.values()}
    before_history = {tid: len(stack.pipeline.repository.history(tid, submitter_id=ALL_SUBMITTERS))
                      for tid in ids.values()}
    before_requests = len(stack.receiver.requests)

    transports = SftpTransports()
    try:
        assert transports.upload(stack.pipeline.partners.partners[PARTNER_ID], name, data) is None
    finally:
        transports.close()

    engine = sa.create_engine(stack.settings.database_url)
    try:
        def ta1_rows() -> list[Any]:
            with engine.connect() as connection:
                return list(connection.execute(sa.select(InboundDocument).where(
                    InboundDocument.document_type == "TA1", InboundDocument.processed_at.is_not(None))))

        assert wait_until(lambda: bool(ta1_rows()), timeout=15), "the TA1 was not collected and processed"
        (row,) = ta1_rows()
    finally:
        engine.dispose()
    ta1 = stack.pipeline.payloads.get(row.uri, sha256=row.sha256).decode()
    assert f"TA1*{isa13}*" in ta1
    assert "*R*025~" in ta1
    assert row.matched == 0

    time.sleep(0.5)  # room for a wrong state change or callback to show up
    assert {tid: stack.state(tid) for tid in ids.values()} == before_states
    assert {tid: len(stack.pipeline.repository.history(tid, submitter_id=ALL_SUBMITTERS))
            for tid in ids.values()} == before_history
    assert len(stack.receiver.requests) == before_requests
    assert sorted(r["patient_control_number"] for r in stack.received_claims()) == sorted(ids)


# ---------------------------------------------------------------------------------- replay


def dead_letter_then_replay(stack: Stack, row: tuple[Any, ...]) -> tuple[str, str, set[str | None]]:
    """Submit one claim while the receiver answers 500, wait for ``failed``, then answer 200 and replay
    as ``edi replay`` does. Returns the transaction id, deliver_pending's outcome and the failed webhook-ids."""
    stack.receiver.reply(*[500] * 200)
    ids = stack.post_claims([row])
    (tid,) = ids.values()
    states = stack.wait_states([tid], wanted={"failed", "delivered"}, timeout=20)
    assert states[tid] == "failed", states
    history = stack.pipeline.repository.history(tid, submitter_id=ALL_SUBMITTERS)
    assert [e.detail_code for e in history if e.to_state.value == "failed"] == ["delivery:dead-lettered"]
    failed = [r for r in stack.receiver.requests if r.status == 500]
    assert all(r.verified for r in failed)
    attempts = Counter(r.webhook_id for r in failed)  # each answer dead-letters on its own
    assert attempts and set(attempts.values()) == {2}  # delivery_max_attempts, each retry keeps its webhook-id
    assert stack.receiver.deliveries == []
    time.sleep(1.0)  # the payer's later answers (835) arrive meanwhile

    while stack.receiver.next_reply().status == 500:  # answer 200 from now on
        pass

    async def make_sender() -> WebhookSender:
        return WebhookSender()

    loop = LoopThread("replay-test")
    sender = loop.run(make_sender())
    try:
        outcome = deliver_pending(stack.pipeline, tid, loop, sender, replay=True)
    finally:
        loop.run(sender.aclose())
        loop.stop()
    return tid, outcome, {r.webhook_id for r in failed}


REPLAY_TIMINGS = Timings(stale_after=30, delivery_max_attempts=2, delivery_retry_base=0.1, delivery_retry_cap=0.5)


def test_dead_lettered_delivery_is_replayed_with_the_same_webhook_id(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(REPLAY_TIMINGS)
    row = next(r for r in BATCH if r[0] == "UNKNOWN")  # rejected: the 277CA is the last answer
    tid, outcome, failed_ids = dead_letter_then_replay(stack, row)
    assert outcome == "delivered"
    assert stack.state(tid) == "delivered"
    history = stack.pipeline.repository.history(tid, submitter_id=ALL_SUBMITTERS)
    assert [(e.to_state.value, e.detail_code) for e in history][-2:] == [
        ("failed", "delivery:dead-lettered"), ("delivered", "http:200")]
    replayed = stack.receiver.deliveries
    assert sorted(r.json()["type"] for r in replayed) == ["claim.acknowledgment", "functional.acknowledgment"]
    (first,) = [r for r in replayed if r.json()["type"] == "functional.acknowledgment"]
    assert first.webhook_id in failed_ids  # the replay is the same message, so receivers can deduplicate
    assert all(r.verified for r in stack.receiver.requests)
    time.sleep(0.5)
    assert len(stack.receiver.requests) == 2 * 2 + 2  # 2 attempts of each answer + 2 replayed; nothing more


def test_replay_of_an_accepted_claim_also_delivers_its_835(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(REPLAY_TIMINGS)
    tid, outcome, _failed_ids = dead_letter_then_replay(stack, BATCH[0])
    assert outcome == "delivered"
    assert sorted(r.json()["type"] for r in stack.receiver.deliveries) == [
        "claim.acknowledgment", "claim.payment", "functional.acknowledgment"]
    assert stack.state(tid) == "delivered"
