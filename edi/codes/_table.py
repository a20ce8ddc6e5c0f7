"""Shared helper for the code tables: one read-only mapping type and a lookup.

Every module in ``edi.codes`` holds one X12 or CMS code list as an immutable
mapping from code to plain-language description. This helper keeps the shape
of those tables uniform so the models and checks can look codes up the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CodeTable", "describe", "freeze"]

CodeTable = Mapping[str, str]


def freeze(entries: dict[str, str]) -> CodeTable:
    """Return a read-only view of ``entries`` so no caller can change a code list."""
    return MappingProxyType(entries)


def describe(table: CodeTable, code: str | None) -> str | None:
    """Plain-language description of ``code`` in ``table``, or None when unknown."""
    if code is None:
        return None
    return table.get(code)
