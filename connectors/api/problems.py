"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers is a problem object: ``type``, ``title``, ``status``, ``detail`` and,
for requests that fail validation, ``errors``: one ``{"field": <JSON path>, "message": ...}`` per
problem, so a requester can fix everything in one round trip. Details and messages never quote
values from the request (they may be PHI) and never carry a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from edi.checks import Problem

__all__ = [
    "PROBLEM_JSON",
    "TYPE_BASE",
    "FieldError",
    "ProblemDetails",
    "ProblemError",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://edi-engine.dev/problems/"  # problem types are documented by name under this URI

_TITLES = {
    400: "The request is not valid",
    401: "Authentication required",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    500: "Internal server error",
}


class FieldError(BaseModel):
    field: str = Field(description="JSON path into the request, e.g. claimInformation.serviceLines[2].x; "
                                   "empty for the request as a whole")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        errors: Iterable[Problem] | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail, self.title = status, slug, detail, title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return problem_response(
            self.status, self.slug, self.detail, errors=self.errors, title=self.title, headers=self.headers
        )


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: Iterable[Problem] | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": p.path, "message": p.message} for p in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))
