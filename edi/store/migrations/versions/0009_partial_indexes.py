"""Partial indexes on ``transactions``: each holds only the rows a lookup through it can find.

The state is indexed, so a state change is never a HOT update: PostgreSQL writes a new entry for
the row into every index whose predicate the new row version meets, about eight times over a
claim's life. The indexes that only matching or scheduling use now leave out the rows without
the key (a claim has no TRN trace; it has no envelope numbers until it is batched, no payer claim
number until the 277CA, no due time most of the time), and the batcher's index over
(partner, state, document type, ISA13) becomes one over the claims waiting for a batch only.
In a 20,000-claim run this cut the buffer pages PostgreSQL touched by 9% (benchmarks/README.md).

The new indexes are built inside the migration's transaction, not CONCURRENTLY: on a large
PostgreSQL store, writes to ``transactions`` wait while they build, so upgrade in a quiet hour.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (name, columns, predicate) as of this revision: a migration never follows later model changes
UNBATCHED = "state = 'queued' AND kind = 'claim' AND isa13 IS NULL"
PARTIAL = (
    ("ix_transactions_partner_id_isa13", ["partner_id", "isa13"], "isa13 IS NOT NULL"),
    ("ix_transactions_partner_id_gs06_st02", ["partner_id", "gs06", "st02"], "gs06 IS NOT NULL"),
    ("ix_transactions_partner_id_payer_claim_control_number", ["partner_id", "payer_claim_control_number"],
     "payer_claim_control_number IS NOT NULL"),
    ("ix_transactions_trn_trace", ["trn_trace"], "trn_trace IS NOT NULL"),
    ("ix_transactions_due_at", ["due_at"], "due_at IS NOT NULL"),
)


def _create(name: str, columns: list[str], where: str | None) -> None:
    predicate = {} if where is None else {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
    op.create_index(name, "transactions", columns, **predicate)


def upgrade() -> None:
    for name, columns, where in PARTIAL:
        op.drop_index(name, table_name="transactions")
        _create(name, columns, where)
    op.drop_index("ix_transactions_partner_id_state_document_type_isa13", table_name="transactions")
    _create("ix_transactions_unbatched", ["partner_id", "document_type", "id"], UNBATCHED)


def downgrade() -> None:
    op.drop_index("ix_transactions_unbatched", table_name="transactions")
    _create("ix_transactions_partner_id_state_document_type_isa13",
            ["partner_id", "state", "document_type", "isa13"], None)
    for name, columns, _ in PARTIAL:
        op.drop_index(name, table_name="transactions")
        _create(name, columns, None)
