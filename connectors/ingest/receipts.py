"""What a door answers by itself, the same on every door: the receipt and the refusal.

A submitter may use two doors (an SFTP drop for rosters, a queue for single checks) and should
parse one document for both, so every door builds its immediate answer here:

.. code-block:: json

    {"type": "receipt", "name": "claims.csv", "submissionId": "...", "status": "partial",
     "accepted": ["t-1", "t-2"],
     "rejected": [{"item": "line 4", "field": "dob", "column": true, "reason": "...",
                   "transactionId": null, "text": "line 4, column dob: ..."}]}

``type`` is ``receipt`` when anything of the submission was stored (``status`` ``accepted`` or
``partial``) and ``error`` when nothing was (``status`` ``rejected``: refused whole, dead-lettered).
File doors write it as ``NAME.receipt.json`` (all accepted) or ``NAME.error.json`` (anything
refused) into the submitter's outbound folder; message doors send it as the reply to the request.
It names transactions and places in the submitter's input, never content (no PHI).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from connectors.ingest.door import IntakeReceipt, ItemError

__all__ = ["answer_document", "answer_name", "error_dict", "refusal", "refusal_document", "status"]


def status(receipt: IntakeReceipt) -> str:
    if not receipt.accepted:
        return "rejected"
    return "partial" if receipt.rejected else "accepted"


def error_dict(error: ItemError) -> dict[str, Any]:
    return {"item": error.item, "field": error.field, "column": error.column, "reason": error.reason,
            "transactionId": error.transaction_id, "text": str(error)}


def answer_document(name: str, receipt: IntakeReceipt, *, submission_id: str | None = None,
                    responses: str | None = None) -> bytes:
    """The one answer a door gives to a submission it handed to the intake (or refused itself);
    ``responses`` names the JSON Lines file its answers go to (the ``jsonl`` layout)."""
    state = status(receipt)
    extra = {"responses": responses} if responses is not None else {}
    return json.dumps({
        "type": "error" if state == "rejected" else "receipt",
        "name": name,
        "submissionId": submission_id,
        "status": state,
        "accepted": list(receipt.accepted),
        "rejected": [error_dict(e) for e in receipt.rejected],
        **extra,
    }, indent=1).encode()


def refusal(*reasons: str, item: str = "file") -> IntakeReceipt:
    """A receipt for a submission the door refused before the intake saw it."""
    return IntakeReceipt(rejected=[ItemError(item, reason) for reason in reasons])


def refusal_document(name: str, errors: Iterable[ItemError], *, submission_id: str | None = None) -> bytes:
    return answer_document(name, IntakeReceipt(rejected=list(errors)), submission_id=submission_id)


def answer_name(name: str, receipt: IntakeReceipt) -> str:
    """The file a file door writes its answer to: ``NAME.error.json`` when anything was refused."""
    return f"{name}.error.json" if receipt.rejected else f"{name}.receipt.json"
