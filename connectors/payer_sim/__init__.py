"""The payer simulator (`edi payer-sim`): a stand-in trading partner for tests, demos and `edi run`.

It answers CAQH CORE 270s with 271s from a member roster and turns each 837 dropped in its SFTP
mailbox into a 999, a 277CA (claims accepted or rejected by configurable rules) and later an 835
paying the accepted claims. This package's decision modules are pure (text in, text out); the
transports that serve them (SOAP, SFTP) live beside them:

* `roster`: the member roster file (`load_roster`, `Roster`, `Member`);
* `rules`: the decision rules file (`load_rules`, `Rules`) and the answers: `answer_270`,
  `acknowledge_837` / `acknowledge_batch` (999 + 277CA), `pay_claims` (835), `reply_envelope`.
"""

from __future__ import annotations

from .roster import Member, Roster, RosterError, load_roster
from .rules import (
    BatchAnswer,
    PaymentTerms,
    RejectRule,
    Rules,
    RulesError,
    acknowledge_837,
    acknowledge_batch,
    adjudicate,
    answer_270,
    judge_claim,
    load_rules,
    pay_claims,
    reply_envelope,
)

__all__ = [
    "BatchAnswer",
    "Member",
    "PaymentTerms",
    "RejectRule",
    "Roster",
    "RosterError",
    "Rules",
    "RulesError",
    "acknowledge_837",
    "acknowledge_batch",
    "adjudicate",
    "answer_270",
    "judge_claim",
    "load_roster",
    "load_rules",
    "pay_claims",
    "reply_envelope",
]
