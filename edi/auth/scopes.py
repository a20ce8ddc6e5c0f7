"""The scopes an access token can carry, one per kind of thing a submitter may do.

Scopes are the unit of authorisation: a route names the one scope it needs, a client is
configured with the scopes it may ask for, and a token carries the ones it was granted. A closed
set (an enum) keeps a typo in configuration from silently granting nothing or everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["Scope", "format_scopes", "parse_scopes"]


class Scope(StrEnum):
    ELIGIBILITY_WRITE = "eligibility:write"  # send 270s, get 271s
    CLAIMS_WRITE = "claims:write"  # send 837P/837I
    TRANSACTIONS_READ = "transactions:read"  # read transactions and their responses (PHI)
    AUDIT_READ = "audit:read"  # read the audit trail (no PHI, but who read what)
    ADMIN = "admin"  # operate the pipeline (replay, configuration)


def parse_scopes(text: str | Iterable[str] | None) -> frozenset[str]:
    """The scope tokens of an RFC 6749 ``scope`` value (space-delimited) or of a JSON list (the
    ``scp`` claim some issuers use); unknown tokens are kept so callers can refuse them by name."""
    if text is None:
        return frozenset()
    items = text.split(" ") if isinstance(text, str) else [str(t) for t in text]
    return frozenset(t for t in items if t)


def format_scopes(scopes: Iterable[str]) -> str:
    """The space-delimited ``scope`` value, sorted so that equal sets give equal strings."""
    return " ".join(sorted(set(scopes)))
