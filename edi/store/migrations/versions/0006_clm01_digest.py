"""CLM01 no longer stored in plaintext: ``transactions.patient_control_number`` becomes
``patient_control_number_hmac``, the HMAC-SHA256 under the lookup key (``edi.lookup``).

Existing rows are converted in place: each stored CLM01 is replaced by its digest, then the
plaintext column and its index are dropped. On SQLite ``secure_delete`` is on meanwhile, so
the freed cells and pages are zeroed rather than left in the file with the old numbers; on
PostgreSQL dead row versions hold them until VACUUM reclaims them (autovacuum does, in time;
run ``VACUUM transactions`` after upgrading to be sure). The key is the one the running engine uses:
passed in by ``edi.store.migrate(lookup_key=...)``, else the one ``Settings.from_env()`` names.
It is read only when there are rows to convert, and its key ``l1`` is used (the single
lookup key of before rotation; migration 0008 names the digests made here by that id).

The downgrade restores the column empty: digests cannot be turned back into numbers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1000
_LEGACY_KEY_ID = "l1"  # the id 0008 gives the digests made here (edi.lookup.LEGACY_KEY_ID)


def _lookup_key():  # type: ignore[no-untyped-def]
    key = context.config.attributes.get("lookup_key")
    if key is None:
        from edi.settings import Settings

        key = Settings.from_env().lookup_key()
    return key


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("patient_control_number_hmac", sa.String(64), nullable=True))
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:  # freed cells and pages are zeroed, not left behind with the old numbers in them
        bind.exec_driver_sql("PRAGMA secure_delete = ON")
    table = sa.table("transactions", sa.column("id", sa.String), sa.column("patient_control_number", sa.String),
                     sa.column("patient_control_number_hmac", sa.String))
    pending = sa.select(table.c.id, table.c.patient_control_number).where(
        table.c.patient_control_number.is_not(None), table.c.patient_control_number_hmac.is_(None)
    ).order_by(table.c.id).limit(_BATCH)
    rows = bind.execute(pending).all()
    if rows:
        key = _lookup_key()
        # under the key migration 0008 names these digests by, whichever key is current now
        if _LEGACY_KEY_ID not in key.ring.keys:
            raise RuntimeError(f"migration 0006 digests the stored CLM01s under the lookup key {_LEGACY_KEY_ID!r}, "
                               "which the configured lookup key ring does not hold")
        while rows:
            bind.execute(
                table.update().where(table.c.id == sa.bindparam("row_id")).values(
                    patient_control_number_hmac=sa.bindparam("digest"), patient_control_number=None),
                [{"row_id": row.id, "digest": key.digest_with(_LEGACY_KEY_ID, "clm01", row.patient_control_number)}
                 for row in rows],
            )
            rows = bind.execute(pending).all()
    op.drop_index("ix_transactions_partner_id_patient_control_number", table_name="transactions")
    if sqlite:  # SQLite >= 3.35 drops a column in place, rewriting the table's rows
        op.execute("ALTER TABLE transactions DROP COLUMN patient_control_number")
    else:
        op.drop_column("transactions", "patient_control_number")
    op.create_index("ix_transactions_partner_id_patient_control_number_hmac", "transactions",
                    ["partner_id", "patient_control_number_hmac"])


def downgrade() -> None:
    op.drop_index("ix_transactions_partner_id_patient_control_number_hmac", table_name="transactions")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("patient_control_number_hmac")
        batch.add_column(sa.Column("patient_control_number", sa.String(38), nullable=True))
    op.create_index("ix_transactions_partner_id_patient_control_number", "transactions",
                    ["partner_id", "patient_control_number"])
