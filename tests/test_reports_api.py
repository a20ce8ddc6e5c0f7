"""``GET /reports/{kind}`` served by uvicorn on loopback behind the real ``audit:read`` check.

The router is mounted on an app of the test's own (the lead mounts it on the API) with our own
token issuer; the figures come from the same seeded store as ``tests/test_reports.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from connectors.api.auth import install_auth
from connectors.api.reports import MEMBER_HEADER, reports_router
from edi.auth.signing import SigningKeys, generate_signing_key_pem
from edi.auth.tokens import TokenIssuer, TokenVerifier
from edi.reports import Report, generate
from tests.servers.http import serve
from tests.test_reports import WINDOW, Seeded, seeded  # noqa: F401 - the fixture

ISSUER, AUDIENCE = "https://edi.test", "edi-api"


@pytest.fixture(scope="module")
def api(seeded: Seeded) -> Iterator[tuple[httpx.Client, TokenIssuer]]:  # noqa: F811
    issuer = TokenIssuer(SigningKeys.from_pems({"k1": generate_signing_key_pem()}, "k1"), issuer=ISSUER,
                         audience=AUDIENCE)
    app = FastAPI()
    install_auth(app, TokenVerifier([issuer.trusted()]))
    app.include_router(reports_router(seeded.engine, seeded.pipeline.payloads))
    with serve(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client, issuer


def _auth(issuer: TokenIssuer, *scopes: str, client_id: str | None = "officer-api") -> dict[str, str]:
    token = issuer.issue("compliance", scopes, client_id=client_id).access_token
    return {"Authorization": f"Bearer {token}"}


QUERY = {"from": "2026-11-02", "to": "2026-11-03"}


def test_the_audit_read_scope_is_required(api: tuple[httpx.Client, TokenIssuer]) -> None:
    client, issuer = api
    assert client.get("/reports/volume", params=QUERY).status_code == 401
    refused = client.get("/reports/volume", params=QUERY, headers=_auth(issuer, "transactions:read"))
    assert refused.status_code == 403
    assert "audit:read" in refused.json()["detail"]


@pytest.mark.parametrize("kind", ["volume", "acceptance", "overdue", "turnaround", "deliveries"])
def test_json_reports_match_the_library(api: tuple[httpx.Client, TokenIssuer], seeded: Seeded,  # noqa: F811
                                        kind: str) -> None:
    client, issuer = api
    answer = client.get(f"/reports/{kind}", params=QUERY, headers=_auth(issuer, "audit:read"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    served = Report.model_validate_json(answer.content)
    expected = generate(kind, seeded.engine, WINDOW, now=served.generated_at)
    assert served.tables == expected.tables
    assert served.daily == expected.daily


def test_other_formats(api: tuple[httpx.Client, TokenIssuer]) -> None:
    client, issuer = api
    headers = _auth(issuer, "audit:read")
    html = client.get("/reports/acceptance", params=QUERY | {"format": "html"}, headers=headers)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert '<svg id="daily-chart"' in html.text
    csv_answer = client.get("/reports/volume", params=QUERY | {"format": "csv"}, headers=headers)
    assert "by_partner,all,all,13" in csv_answer.text
    pdf = client.get("/reports/deliveries", params=QUERY | {"format": "pdf"}, headers=headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 1


def test_phi_access_by_user_and_by_member_header(api: tuple[httpx.Client, TokenIssuer],
                                                 seeded: Seeded) -> None:  # noqa: F811
    client, issuer = api
    headers = _auth(issuer, "audit:read")
    by_user = client.get("/reports/phi-access", params=QUERY | {"user": "bob"}, headers=headers)
    assert by_user.status_code == 200, by_user.text
    assert [r[1] for r in Report.model_validate_json(by_user.content).table("reads").rows] == ["bob", "bob"]
    by_member = client.get("/reports/phi-access", params=QUERY, headers=headers | {MEMBER_HEADER: "NOBODY01"})
    assert by_member.status_code == 200, by_member.text
    report = Report.model_validate_json(by_member.content)
    assert [r[1:4] for r in report.table("reads").rows] == [["bob", seeded.ids["E3"], "denied"]]
    assert report.parameters["officer"] == "officer-api"
    in_url = client.get("/reports/phi-access", params=QUERY | {"member": "NOBODY01"}, headers=headers)
    assert in_url.status_code == 400
    assert MEMBER_HEADER in in_url.json()["detail"]


def test_bad_requests_are_problems(api: tuple[httpx.Client, TokenIssuer]) -> None:
    client, issuer = api
    headers = _auth(issuer, "audit:read")
    assert client.get("/reports/nope", params=QUERY, headers=headers).status_code == 404
    assert client.get("/reports/volume", params=QUERY | {"format": "xls"}, headers=headers).status_code == 400
    backwards = client.get("/reports/volume", params={"from": "2026-11-03", "to": "2026-11-01"}, headers=headers)
    assert backwards.status_code == 400
    assert "after" in backwards.json()["detail"]
    both = client.get("/reports/phi-access", params=QUERY, headers=headers)
    assert both.status_code == 400
    assert "one user" in both.json()["detail"]
