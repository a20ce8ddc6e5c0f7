"""``GET /reports/{kind}``: the reports of ``edi.reports`` over HTTP, for holders of ``audit:read``.

The scope check is part of the router (``principal`` defaults to ``require_scope("audit:read")``)
so mounting it cannot forget it. A member's PHI access log takes the member id in the
``Edi-Member-Id`` header, never in the URL: query strings end up in access logs and proxies'
histories, headers do not. The token's client (or submitter) is recorded as the officer whose
lookup read the member's requests. Handlers are plain functions: FastAPI runs them in its
thread pool, where the database reads and Chromium's PDF printing do not stall the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy import Engine

from connectors.api.auth import require_scope
from connectors.api.problems import ProblemError
from edi.auth.scopes import Scope
from edi.auth.tokens import Principal
from edi.payloads import PayloadStore
from edi.reports import KINDS, ReportError, Window, generate
from edi.reports.render import FORMATS, MEDIA_TYPES, render

__all__ = ["MEMBER_HEADER", "reports_router"]

MEMBER_HEADER = "Edi-Member-Id"


def reports_router(
    engine: Engine, payloads: PayloadStore | None = None, *,
    principal: Callable[..., Principal] | None = None,
) -> APIRouter:
    """The reports API on ``engine``; ``payloads`` (with its key ring) enables member lookups."""
    router = APIRouter(tags=["reports"])
    gate = Depends(principal or require_scope(Scope.AUDIT_READ.value))  # a default: string annotations
    # (from __future__) are resolved in the module's globals, where a local dependency is not found

    @router.get("/reports/{kind}", summary="A report over the store and audit trail",
                response_description="The report in the format asked for")
    def get_report(
        kind: Annotated[str, Path(description=", ".join(KINDS))],
        start: Annotated[str, Query(alias="from", description="First day or moment (ISO 8601; UTC by default)")],
        end: Annotated[str, Query(alias="to", description="Last day (included) or moment (excluded)")],
        fmt: Annotated[str, Query(alias="format", description=", ".join(FORMATS))] = "json",
        user: Annotated[str | None, Query(description="phi-access: the reader to report on")] = None,
        member: Annotated[str | None, Query(include_in_schema=False)] = None,
        member_id: Annotated[str | None, Header(alias=MEMBER_HEADER, description="phi-access: the member")] = None,
        who: Principal = gate,
    ) -> Response:
        if member is not None:
            raise ProblemError(400, "member-in-url", f"send the member id in the {MEMBER_HEADER} header, not the URL")
        if kind not in KINDS:
            raise ProblemError(404, "unknown-report", f"no report {kind!r}: choose one of {', '.join(KINDS)}")
        if fmt not in FORMATS:
            raise ProblemError(400, "unknown-format", f"format must be one of {', '.join(FORMATS)}")
        if member_id is not None and payloads is None:
            raise ProblemError(501, "member-lookup-unavailable",
                               "this server has no payload key ring: run `edi report phi-access --member` instead")
        try:
            window = Window.parse(start, end)
            report = generate(kind, engine, window, user=user, member=member_id,
                              payloads=payloads if member_id is not None else None,
                              officer=(who.client_id or who.submitter_id) if member_id is not None else None)
            body = render(report, fmt)
        except ReportError as error:
            raise ProblemError(400, "invalid-report-request", str(error)) from None
        disposition = f'inline; filename="{kind}-{window.start.date()}-{window.end.date()}.{fmt}"'
        return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})

    return router
