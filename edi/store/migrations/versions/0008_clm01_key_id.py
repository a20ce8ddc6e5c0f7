"""CLM01 digests say which lookup key made them: ``transactions.patient_control_number_key_id``.

The lookup key became a ring (``edi.lookup``) so it can rotate. Every digest stored so far was
made under the one lookup key there was, which a ring read from the old single-key format holds
under the id ``l1``: existing digests get that id (no key is needed to say so). The index on
(key id, id) lets ``edi lookup-keys rotate`` page through the rows still on an older key and
``edi lookup-keys status`` count them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEGACY_KEY_ID = "l1"  # edi.lookup.LEGACY_KEY_ID when this was written: a migration never changes


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("patient_control_number_key_id", sa.String(64), nullable=True))
    table = sa.table("transactions", sa.column("patient_control_number_hmac", sa.String),
                     sa.column("patient_control_number_key_id", sa.String))
    op.execute(table.update().where(table.c.patient_control_number_hmac.is_not(None))
               .values(patient_control_number_key_id=LEGACY_KEY_ID))
    op.create_index("ix_transactions_patient_control_number_key_id_id", "transactions",
                    ["patient_control_number_key_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_transactions_patient_control_number_key_id_id", table_name="transactions")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("patient_control_number_key_id")
