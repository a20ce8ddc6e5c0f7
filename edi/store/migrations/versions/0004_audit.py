"""The audit trail: ``audit_entries``, append-only and hash-chained (see ``edi.audit``).

Triggers refuse deleting entries and changing them, except the one update the sealer makes
(position, prev_hash and hash, from empty to set); TRUNCATE is refused on PostgreSQL too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS = ("event", "access")
ACTIONS = ("received", "validated", "sent", "acknowledged", "responded", "delivered", "failed", "replayed", "read")
# every column but the three the sealer sets once
FIXED = ("id", "recorded_at", "kind", "action", "actor", "outcome", "transaction_id", "submitter_id", "partner_id",
         "control_number", "isa13", "gs06", "st02")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(26)),
        sa.Column("submitter_id", sa.String(64)),
        sa.Column("partner_id", sa.String(64)),
        sa.Column("control_number", sa.String(50)),
        sa.Column("isa13", sa.Integer()),
        sa.Column("gs06", sa.Integer()),
        sa.Column("st02", sa.Integer()),
        sa.Column("position", sa.BigInteger()),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.UniqueConstraint("position", name="uq_audit_entries_position"),
        sa.CheckConstraint(_one_of("kind", KINDS), name="ck_audit_entries_kind"),
        sa.CheckConstraint(_one_of("action", ACTIONS), name="ck_audit_entries_action"),
        sa.CheckConstraint(
            "(position IS NULL AND prev_hash IS NULL AND hash IS NULL) OR "
            "(position >= 1 AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="ck_audit_entries_sealed",
        ),
    )
    op.create_index("ix_audit_entries_transaction_id_id", "audit_entries", ["transaction_id", "id"])
    op.create_index(
        "ix_audit_entries_unsealed", "audit_entries", ["id"],
        postgresql_where=sa.text("position IS NULL"), sqlite_where=sa.text("position IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)
        op.execute(
            "CREATE FUNCTION edi_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP IN ('DELETE', 'TRUNCATE') THEN "
            "RAISE EXCEPTION 'audit trail: entries cannot be deleted'; END IF; "
            f"IF OLD.position IS NOT NULL OR {changed} THEN "
            "RAISE EXCEPTION 'audit trail: entries cannot be changed, only sealed once'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION edi_audit_guard()"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION edi_audit_guard()"
        )
    else:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)
        op.execute(
            "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit trail: entries cannot be deleted'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_seal_once BEFORE UPDATE ON audit_entries "
            f"WHEN OLD.position IS NOT NULL OR {changed} "
            "BEGIN SELECT RAISE(ABORT, 'audit trail: entries cannot be changed, only sealed once'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS edi_audit_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_seal_once")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
    op.drop_index("ix_audit_entries_unsealed", table_name="audit_entries")
    op.drop_index("ix_audit_entries_transaction_id_id", table_name="audit_entries")
    op.drop_table("audit_entries")
