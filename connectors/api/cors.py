"""Cross-origin access to the API: off unless named origins are allowed (``EDI_API_CORS_ORIGINS``).

The API is called by systems, not by browsers on other sites, so the default is no CORS at all:
a browser page from anywhere else cannot read responses. An operator who runs a browser front
end lists its exact origins, comma-separated (``https://portal.example.org``); a wildcard or an
origin with a path is refused at start-up rather than silently widening access. Credentials
(cookies) are never allowed: callers authenticate with a bearer token or ``X-API-Key``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

__all__ = ["ENV_CORS_ORIGINS", "allow_origins", "cors_origins"]

ENV_CORS_ORIGINS = "EDI_API_CORS_ORIGINS"
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")


def cors_origins(environ: Mapping[str, str] | None = None) -> list[str]:
    """The allowed origins from the environment; ``ValueError`` naming the bad entry."""
    env = os.environ if environ is None else environ
    origins = [item.strip().rstrip("/") for item in env.get(ENV_CORS_ORIGINS, "").split(",") if item.strip()]
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"{ENV_CORS_ORIGINS}: {origin!r} is not an origin; list exact origins like https://portal.example.org "
                "(no wildcard, no path)"
            )
    return origins


def allow_origins(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer CORS requests from exactly these origins; without any, add nothing."""
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(origins), allow_credentials=False, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-API-Key"], max_age=600,
        )
