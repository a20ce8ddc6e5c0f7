"""The pipeline on RabbitMQ and PostgreSQL while the broker is stopped and started again.

Two ``edi worker`` processes (as in the Docker compose stack) run every stage, the outbox relay,
the sweeper and the mailbox poller. With claims in flight the RabbitMQ node is stopped; more
claims are accepted by the API meanwhile (the store and its outbox do not need the broker); the
node is started again on the same data, so its durable queues and persistent messages are back.
Nobody restarts the workers: their consumers and relays reconnect by themselves
(``connectors/pipeline/runner.py``). Every claim must then reach its terminal state, reach the
payer exactly once, and get each of its answers delivered under one webhook-id.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.test_payer_sim_rules import claim
from tests.test_pipeline_e2e import (  # noqa: F401 - fixtures
    RABBITMQ,
    Stack,
    backend,
    make_stack,
    wait_until,
)

if TYPE_CHECKING:
    from tests.servers.rabbitmq import RabbitMQServer

pytest_plugins = ("tests.servers.postgres", "tests.servers.rabbitmq")

ANSWERS = {"functional.acknowledgment", "claim.acknowledgment", "claim.payment"}
IN_FLIGHT = {"received", "validated", "queued", "sent", "acknowledged", "responded"}


def post(stack: Stack, prefix: str, count: int) -> dict[str, str]:
    """POST ``count`` claims the simulator accepts and pays; patient control number -> transaction id."""
    bodies = []
    for number in range(count):
        data = claim(f"{prefix}-{number:03d}", "SIM00001" if number % 2 else "SIM00002").to_json()
        data["tradingPartnerServiceId"] = "SIMPLAN01"
        bodies.append(data)
    answer = stack.api.post("/claims", json=bodies)
    assert answer.status_code == 202, answer.text
    return {body["claimInformation"]["patientControlNumber"]: item["id"]
            for body, item in zip(bodies, answer.json()["transactions"], strict=True)}


@pytest.mark.parametrize("backend", [RABBITMQ], indirect=True)
def test_workers_and_relay_survive_a_rabbitmq_restart(make_stack: Callable[..., Stack],  # noqa: F811
                                                      rabbitmq_server: RabbitMQServer) -> None:
    stack = make_stack(worker_processes=2)
    assert stack.workers is not None
    ids = post(stack, "BEFORE", 40)

    def states() -> Counter[str]:
        return Counter(stack.state(tid) for tid in ids.values())

    # claims in flight: some with the payer already, none finished
    assert wait_until(lambda: sum(states()[s] for s in ("sent", "acknowledged", "responded")) > 0, timeout=90), (
        states(), stack.workers.logs())
    # and some just accepted: a clean stop of the node takes long enough for the first ones to finish
    ids.update(post(stack, "LATE", 10))
    rabbitmq_server.stop()
    stopped_at = states()
    assert sum(stopped_at[s] for s in IN_FLIGHT) > 0, stopped_at  # really mid-run

    ids.update(post(stack, "DURING", 10))  # accepted into the store's outbox while the broker is away
    # Both halves of a worker meet the outage: the consumers lose their connection, the relay
    # fails to publish the new claims' messages.
    assert wait_until(lambda: "outbox relay stopped" in stack.workers.logs()
                      and "consumer stopped" in stack.workers.logs(), timeout=60), stack.workers.logs()
    assert stack.pipeline.repository.pending_outbox()  # nothing was lost: it waits in the store
    rabbitmq_server.start()

    final = stack.wait_states(list(ids.values()), timeout=240)
    assert Counter(final.values()) == Counter({"delivered": len(ids)}), (stopped_at, Counter(final.values()))
    assert stack.workers.alive(), stack.workers.logs()  # nobody restarted them

    # each claim reached the payer exactly once
    seen = Counter(r["patient_control_number"] for r in stack.received_claims())
    assert seen == Counter(dict.fromkeys(ids, 1))

    # every answer delivered and verified; a repeated POST is the same message (same webhook-id)
    assert stack.receiver.rejected == []
    webhook_ids: dict[tuple[str, str], set[str | None]] = {}
    for request in stack.receiver.deliveries:
        body = request.json()
        webhook_ids.setdefault((body["data"]["patientControlNumber"], body["type"]), set()).add(request.webhook_id)
    assert {pcn for pcn, _type in webhook_ids} == set(ids)
    for pcn in ids:
        assert {kind for p, kind in webhook_ids if p == pcn} == ANSWERS, pcn
    assert all(len(found) == 1 for found in webhook_ids.values()), webhook_ids
    assert stack.pipeline.repository.pending_outbox() == []
    time.sleep(0.5)  # room for a late duplicate to show up
    assert len({r.webhook_id for r in stack.receiver.deliveries}) == len(webhook_ids)
