"""The pipeline's queues, with kombu: topology, the outbox relay and the stage worker base.

See ``topology`` for the broker URL (``EDI_BROKER_URL``; embedded SQLite broker by default),
``relay`` for the outbox relay (at least once), ``groups`` for the group messages it packs a
batch's rows into (a tool reading a queue unpacks them with ``members``) and ``consumer`` for
stage workers (manual acks, dead-letter queues with reasons, bounded retries).
"""

from connectors.queues.consumer import PoisonMessageError, StageMessage, StageWorker
from connectors.queues.groups import GROUP_HEADER, members
from connectors.queues.relay import OutboxRelay, UnroutableMessageError, message_for, stage_of
from connectors.queues.topology import (
    DLX,
    EXCHANGE,
    REASON_HEADER,
    RETRIES_HEADER,
    STAGES,
    LeasedSqlaTransport,
    broker_url,
    connect,
    dead_letter_queue,
    declare,
    stage_queue,
)

__all__ = [
    "DLX",
    "EXCHANGE",
    "GROUP_HEADER",
    "REASON_HEADER",
    "RETRIES_HEADER",
    "STAGES",
    "LeasedSqlaTransport",
    "OutboxRelay",
    "PoisonMessageError",
    "StageMessage",
    "StageWorker",
    "UnroutableMessageError",
    "broker_url",
    "connect",
    "dead_letter_queue",
    "declare",
    "members",
    "message_for",
    "stage_of",
    "stage_queue",
]
