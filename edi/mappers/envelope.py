"""Who an outbound transaction is from and to, and the control numbers it must carry.

Mappers never invent envelope values: identifiers come from the trading-partner configuration and
control numbers from persistent per-partner sequences, both owned by the caller (the pipeline, or
the CLI's options). This is the one value a mapper needs besides the request itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edi.x12.delimiters import DEFAULT_DELIMITERS, Delimiters
from edi.x12.writer import FunctionalGroup, InterchangeHeader, Segment, TransactionSet, write_interchange

__all__ = ["Envelope", "wrap"]


@dataclass(slots=True)
class Envelope:
    sender_id: str  # ISA06
    receiver_id: str  # ISA08
    interchange_control_number: int  # ISA13 / IEA02
    group_control_number: int  # GS06 / GE02
    transaction_control_number: int = 1  # ST02 / SE02 (first one; more sets count up)
    sender_qualifier: str = "ZZ"  # ISA05
    receiver_qualifier: str = "ZZ"  # ISA07
    application_sender: str | None = None  # GS02, defaults to sender_id
    application_receiver: str | None = None  # GS03, defaults to receiver_id
    usage: str = "P"  # ISA15: P production, T test
    ack_requested: str = "0"  # ISA14
    delimiters: Delimiters = field(default_factory=lambda: DEFAULT_DELIMITERS)
    now: datetime | None = None  # creation time; defaults to the current time


def wrap(
    env: Envelope,
    functional_id: str,
    version: str,
    transaction_set_id: str,
    bodies: list[list[Segment]],
) -> str:
    """One interchange with one functional group holding one transaction set per body."""
    now = env.now or datetime.now()
    header = InterchangeHeader(
        sender_qualifier=env.sender_qualifier,
        sender_id=env.sender_id,
        receiver_qualifier=env.receiver_qualifier,
        receiver_id=env.receiver_id,
        control_number=env.interchange_control_number,
        usage=env.usage,
        ack_requested=env.ack_requested,
        date=now.strftime("%y%m%d"),
        time=now.strftime("%H%M"),
    )
    group = FunctionalGroup(
        functional_id=functional_id,
        sender_code=env.application_sender or env.sender_id,
        receiver_code=env.application_receiver or env.receiver_id,
        control_number=env.group_control_number,
        version=version,
        date=now.strftime("%Y%m%d"),
        time=now.strftime("%H%M"),
        transactions=[
            TransactionSet(transaction_set_id, env.transaction_control_number + i, body, version)
            for i, body in enumerate(bodies)
        ],
    )
    return write_interchange(header, [group], env.delimiters, now=now)
