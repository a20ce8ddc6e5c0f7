"""Group messages: several transactions' stage messages in one broker message.

Every outbox row is one transaction's message for one stage (about four per claim). Publishing,
storing, delivering and acking each on its own cost the relay, the broker and the consumers more
CPU than the stages' handlers save by handling them in groups, so the relay packs the rows of a
batch that go to the same stage into one message (``pack``) and the consumer unpacks it
(``members``) into the same per-transaction messages it would have received one by one.

A group message is JSON ``{"stage": ..., "messages": [<member>, ...]}`` with the header
``x-edi-group`` giving the member count (the consumer sizes its groups from it without decoding).
Each member is exactly the body a single message for its row would have (its ``message_id``
``outbox-<row id>`` included), so a member that must be retried or dead-lettered is published on
its own as an ordinary single message, with its own ``message_id``: retries and dead letters stay
per transaction. A message without the header is a single message, as before (retries, dead
letters, anything already queued by an older relay).

The group's own ``message_id`` is ``outbox-group-`` and a digest of its members' ids: the same
rows packed again give the same id, but a relay that crashed and publishes its batch again may
pack it differently. Nothing dedupes on it; consumers are idempotent per transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["GROUP_HEADER", "MAX_GROUP_BYTES", "MAX_GROUP_MEMBERS", "Packed", "member_count", "members", "pack"]

GROUP_HEADER = "x-edi-group"
MEMBERS = "messages"
MAX_GROUP_MEMBERS = 200  # the workers' group size: one message is one handler group
MAX_GROUP_BYTES = 128 * 1024  # well under SQS's 256 KiB once base64-encoded, a frame on RabbitMQ


@dataclass(frozen=True, slots=True)
class Packed:
    """One message to publish: its JSON text, its member count (1: a single message) and id."""

    text: str
    count: int
    message_id: str


def pack(stage: str, encoded: list[tuple[str, str]], *, max_members: int = MAX_GROUP_MEMBERS,
         max_bytes: int = MAX_GROUP_BYTES) -> Iterator[Packed]:
    """``encoded``: (message_id, JSON text) of one stage's messages, in order. Consecutive runs of
    at most ``max_members`` and ``max_bytes`` become group messages; a run of one stays a single
    message (its own text and id)."""
    head = '{"stage": ' + json.dumps(stage) + ', "' + MEMBERS + '": ['
    run: list[tuple[str, str]] = []
    size = len(head) + 2

    def flush() -> Packed:
        if len(run) == 1:
            return Packed(run[0][1], 1, run[0][0])
        digest = hashlib.sha256(",".join(i for i, _t in run).encode()).hexdigest()[:24]
        return Packed(head + ", ".join(t for _i, t in run) + "]}", len(run), f"outbox-group-{digest}")

    for message_id, text in encoded:
        if run and (len(run) >= max_members or size + len(text) + 2 > max_bytes):
            yield flush()
            run, size = [], len(head) + 2
        run.append((message_id, text))
        size += len(text) + 2
    if run:
        yield flush()


def member_count(headers: dict[str, Any] | None) -> int:
    """How many transactions a delivery carries, from its headers (1 for a single message)."""
    value = (headers or {}).get(GROUP_HEADER)
    try:
        return max(1, int(value)) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def members(body: Any, headers: dict[str, Any] | None) -> list[Any] | None:
    """The member bodies of a decoded group message; ``[body]`` for a single message; None for a
    message that says it is a group but holds no list of members (poison)."""
    if GROUP_HEADER not in (headers or {}):
        return [body]
    found = body.get(MEMBERS) if isinstance(body, dict) else None
    if not isinstance(found, list) or not found:
        return None
    return found
