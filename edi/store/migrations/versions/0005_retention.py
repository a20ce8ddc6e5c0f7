"""Retention: the audit trail may lose its oldest entries, but only through ``edi purge``.

``audit_anchors`` records, for every purge, the position and hash of the last entry removed,
so ``edi audit verify`` checks the chain from the first retained entry on. The anchors are
append-only themselves. The delete guard on ``audit_entries`` now lets a delete through only
when three things hold: the purge path is open in this transaction (a row in
``audit_purge_gate`` that the purge inserts and removes again before committing, so no other
transaction ever sees it -- SQLite triggers cannot read session settings, and one mechanism on
both databases is one thing to review), the entry is sealed, and an anchor at or beyond its
position exists.
Everything else stays refused: edits, out-of-order deletes, deletes past the last anchor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FIXED = ("id", "recorded_at", "kind", "action", "actor", "outcome", "transaction_id", "submitter_id", "partner_id",
         "control_number", "isa13", "gs06", "st02")
ANCHORED = "OLD.position IS NOT NULL AND OLD.position <= (SELECT max(position) FROM audit_anchors)"


def _guard_pg(allow_purge: bool) -> str:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)
    purge = (
        "IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_purge_gate) "
        f"AND {ANCHORED} THEN RETURN OLD; END IF; "
    ) if allow_purge else ""
    return (
        "CREATE OR REPLACE FUNCTION edi_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{purge}"
        "IF TG_OP IN ('DELETE', 'TRUNCATE') THEN "
        "RAISE EXCEPTION 'audit trail: entries cannot be deleted'; END IF; "
        f"IF OLD.position IS NOT NULL OR {changed} THEN "
        "RAISE EXCEPTION 'audit trail: entries cannot be changed, only sealed once'; END IF; "
        "RETURN NEW; END $$"
    )


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("purged", sa.BigInteger(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_anchors"),
        sa.UniqueConstraint("position", name="uq_audit_anchors_position"),
    )
    op.create_table(
        "audit_purge_gate",
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("opened", name="pk_audit_purge_gate"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_guard_pg(True))
        op.execute(
            "CREATE FUNCTION edi_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'audit anchors cannot be changed or deleted'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors "
            "FOR EACH ROW EXECUTE FUNCTION edi_audit_anchor_guard()"
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors "
            "FOR EACH STATEMENT EXECUTE FUNCTION edi_audit_anchor_guard()"
        )
    else:
        op.execute("DROP TRIGGER audit_entries_no_delete")
        op.execute(
            "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            f"WHEN NOT (EXISTS (SELECT 1 FROM audit_purge_gate) AND {ANCHORED}) "
            "BEGIN SELECT RAISE(ABORT, 'audit trail: entries cannot be deleted'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors "
            "BEGIN SELECT RAISE(ABORT, 'audit anchors cannot be changed or deleted'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors "
            "BEGIN SELECT RAISE(ABORT, 'audit anchors cannot be changed or deleted'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_guard_pg(False))
        op.execute("DROP TRIGGER IF EXISTS audit_anchors_no_truncate ON audit_anchors")
        op.execute("DROP TRIGGER IF EXISTS audit_anchors_append_only ON audit_anchors")
        op.execute("DROP FUNCTION IF EXISTS edi_audit_anchor_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
        op.execute(
            "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit trail: entries cannot be deleted'); END"
        )
    op.drop_table("audit_purge_gate")
    op.drop_table("audit_anchors")
