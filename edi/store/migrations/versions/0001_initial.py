"""The initial schema: transactions, their events, payload references, control sequences,
outbox and deliveries (see ``edi.store.models`` for what each holds).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATES = ("received", "validated", "rejected", "queued", "sent", "acknowledged", "responded", "delivered", "failed")
KINDS = ("eligibility", "claim")
PAYLOAD_KINDS = ("request-json", "outbound-x12", "inbound-x12", "response-json", "ack")
CONTROL_KINDS = ("ISA13", "GS06", "ST02")
OUTCOMES = ("succeeded", "failed", "dead_lettered")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("submitter_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("partner_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("request_sha256", sa.String(64)),
        sa.Column("callback_url", sa.String(2048)),
        sa.Column("control_number", sa.String(50)),
        sa.Column("patient_control_number", sa.String(38)),
        sa.Column("trn_trace", sa.String(50)),
        sa.Column("bht03", sa.String(50)),
        sa.Column("isa13", sa.Integer()),
        sa.Column("gs06", sa.Integer()),
        sa.Column("st02", sa.Integer()),
        sa.Column("payer_claim_control_number", sa.String(50)),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transactions"),
        sa.CheckConstraint(_one_of("kind", KINDS), name="ck_transactions_kind"),
        sa.CheckConstraint(_one_of("state", STATES), name="ck_transactions_state"),
        sa.UniqueConstraint("submitter_id", "idempotency_key", name="uq_transactions_submitter_id_idempotency_key"),
    )
    for columns in (
        ("submitter_id", "id"),
        ("state", "id"),
        ("partner_id", "isa13"),
        ("partner_id", "gs06", "st02"),
        ("partner_id", "patient_control_number"),
        ("partner_id", "payer_claim_control_number"),
        ("trn_trace",),
        ("created_at",),
    ):
        op.create_index(f"ix_transactions_{'_'.join(columns)}", "transactions", list(columns))

    op.create_table(
        "transaction_events",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("detail_code", sa.String(64)),
        sa.Column("actor", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_transaction_events"),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], ondelete="CASCADE",
            name="fk_transaction_events_transaction_id_transactions",
        ),
    )
    op.create_index("ix_transaction_events_transaction_id_id", "transaction_events", ["transaction_id", "id"])

    op.create_table(
        "payloads",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_type", sa.String(16)),
        sa.Column("uri", sa.String(1024), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payloads"),
        sa.CheckConstraint(_one_of("kind", PAYLOAD_KINDS), name="ck_payloads_kind"),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], ondelete="CASCADE",
            name="fk_payloads_transaction_id_transactions",
        ),
    )
    op.create_index("ix_payloads_transaction_id_id", "payloads", ["transaction_id", "id"])
    op.create_index("ix_payloads_uri", "payloads", ["uri"])

    op.create_table(
        "control_sequences",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "kind", name="pk_control_sequences"),
        sa.CheckConstraint(_one_of("kind", CONTROL_KINDS), name="ck_control_sequences_kind"),
        sa.CheckConstraint("last_value >= 0", name="ck_control_sequences_last_value"),
    )

    op.create_table(
        "outbox",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("transaction_id", sa.String(26)),
        sa.Column("body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("published_at", _when()),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], ondelete="SET NULL",
            name="fk_outbox_transaction_id_transactions",
        ),
    )
    op.create_index("ix_outbox_transaction_id", "outbox", ["transaction_id"])
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"],
        postgresql_where=sa.text("published_at IS NULL"), sqlite_where=sa.text("published_at IS NULL"),
    )

    op.create_table(
        "deliveries",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=False),
        sa.Column("payload_id", sa.String(26)),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error_code", sa.String(64)),
        sa.Column("attempted_at", _when(), nullable=False),
        sa.Column("next_attempt_at", _when()),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.CheckConstraint(_one_of("outcome", OUTCOMES), name="ck_deliveries_outcome"),
        sa.CheckConstraint("attempt >= 1", name="ck_deliveries_attempt"),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], ondelete="CASCADE",
            name="fk_deliveries_transaction_id_transactions",
        ),
        sa.ForeignKeyConstraint(
            ["payload_id"], ["payloads.id"], ondelete="SET NULL", name="fk_deliveries_payload_id_payloads",
        ),
    )
    op.create_index("ix_deliveries_transaction_id_id", "deliveries", ["transaction_id", "id"])
    op.create_index("ix_deliveries_webhook_id", "deliveries", ["webhook_id"])
    op.create_index("ix_deliveries_payload_id", "deliveries", ["payload_id"])

    # History is append-only: rows may go (retention purges delete whole transactions), but an
    # event once written never changes.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION edi_refuse_update() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'append-only table: rows cannot be updated'; END $$"
        )
        op.execute(
            "CREATE TRIGGER transaction_events_append_only BEFORE UPDATE ON transaction_events "
            "FOR EACH ROW EXECUTE FUNCTION edi_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER transaction_events_append_only BEFORE UPDATE ON transaction_events "
            "BEGIN SELECT RAISE(ABORT, 'append-only table: rows cannot be updated'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS transaction_events_append_only ON transaction_events")
        op.execute("DROP FUNCTION IF EXISTS edi_refuse_update()")
    else:
        op.execute("DROP TRIGGER IF EXISTS transaction_events_append_only")
    for table in ("deliveries", "outbox", "control_sequences", "payloads", "transaction_events", "transactions"):
        op.drop_table(table)
