"""Delivery leases: one delivery worker at a time sends a transaction's response documents.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_leases",
        sa.Column("transaction_id", sa.String(26), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"], ondelete="CASCADE",
                                name=op.f("fk_delivery_leases_transaction_id_transactions")),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_delivery_leases")),
    )


def downgrade() -> None:
    op.drop_table("delivery_leases")
