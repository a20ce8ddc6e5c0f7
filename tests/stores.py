"""Fixtures for tests that run on both stores: the embedded SQLite file and a PostgreSQL database.

Load with ``pytest_plugins = ("tests.servers.postgres", "tests.stores")``. A module that needs the
store set up otherwise (another time zone, a store left unmigrated) defines its own fixtures of
these names, which take precedence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from edi.store import make_engine, migrate

__all__ = ["database_url", "engine"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a SQLite file not yet created, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'edi.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on that store, migrated to the head revision."""
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
