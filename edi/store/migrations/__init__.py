"""Alembic migrations of the transaction store (run with ``edi.store.migrate``)."""
