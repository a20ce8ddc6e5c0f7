"""What the running pipeline needs: scheduling (due_at, attempts), the claim type per
transaction for batching, and the inbound documents table for partner responses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("document_type", sa.String(8), nullable=True))
        batch.add_column(sa.Column("due_at", _when(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_transactions_due_at", ["due_at"])
        batch.create_index(
            "ix_transactions_partner_id_state_document_type_isa13", ["partner_id", "state", "document_type", "isa13"]
        )
    op.create_table(
        "inbound_documents",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document_type", sa.String(16), nullable=True),
        sa.Column("uri", sa.String(1024), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
        sa.Column("processed_at", _when(), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("matched", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_documents"),
        sa.UniqueConstraint("partner_id", "name", "sha256", name="uq_inbound_documents_partner_id_name_sha256"),
    )
    op.create_index("ix_inbound_documents_processed_at", "inbound_documents", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_documents_processed_at", table_name="inbound_documents")
    op.drop_table("inbound_documents")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_index("ix_transactions_partner_id_state_document_type_isa13")
        batch.drop_index("ix_transactions_due_at")
        batch.drop_column("attempts")
        batch.drop_column("due_at")
        batch.drop_column("document_type")
