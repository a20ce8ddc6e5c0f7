"""The stage names messages are routed by, shared by the store's outbox and the queues."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from edi.store import OutboxMessage

__all__ = ["STAGES", "Stage", "message"]


class Stage(StrEnum):
    INTAKE = "intake"  # raw input from a door: parse, check, record
    TRANSLATE = "translate"  # JSON -> route to a partner; 270s are written here
    OUTBOX = "outbox"  # claims gathered into 837 batches per partner
    TRANSPORT = "transport"  # send to the partner (CORE SOAP, SFTP)
    RESPONSES = "responses"  # inbound TA1/999/271/277CA/835: validate, match, record
    DELIVERY = "delivery"  # response JSON to the requester's callback


STAGES: tuple[str, ...] = tuple(stage.value for stage in Stage)


def message(stage: Stage, transaction_id: str | None = None, **fields: Any) -> OutboxMessage:
    """An outbox message for ``stage``: ids and routing fields only, never PHI."""
    body = {key: value for key, value in fields.items() if value is not None}
    if transaction_id is not None:
        body["transaction_id"] = transaction_id
    return OutboxMessage(topic=stage.value, body=body, transaction_id=transaction_id)
