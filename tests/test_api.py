"""The REST API over real HTTP: uvicorn on a free loopback port in a thread, httpx as the client,
a SQLite store and an encrypted local payload store in a temporary directory."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.api import create_app, hash_api_key
from edi.keys import KeyRing
from edi.lookup import LookupKey
from edi.payloads import LocalPayloadStore
from edi.store import ALL_SUBMITTERS, Repository, TransactionFilter, make_engine, migrate
from tests.servers.http import serve
from tests.test_checks import eligibility_request, institutional_claim, professional_claim

KEY_A, KEY_B = "key-of-clinic-a", "key-of-clinic-b"
MEMBER_ID = "W123456789"  # distinctive, to look for in the stored payloads




@dataclass
class Api:
    url: str
    repository: Repository
    payload_dir: Path

    def client(self, key: str | None = KEY_A, *, header: str = "bearer") -> httpx.Client:
        headers = {}
        if key is not None:
            headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store' / 'edi.db'}")
    migrate(engine)
    repository = Repository(engine, lookup_key=LookupKey(os.urandom(32)))
    keyring = KeyRing({"test-1": base64.b64decode(base64.b64encode(os.urandom(32)))}, "test-1")
    payload_dir = tmp_path / "payloads"
    store = LocalPayloadStore(payload_dir, keyring, durable=False)
    auth = {hash_api_key(KEY_A): "clinic-a", hash_api_key(KEY_B): "clinic-b"}
    app = create_app(repository, store, auth, max_body_bytes=1024 * 1024)
    with serve(app) as url:
        yield Api(url, repository, payload_dir)
    engine.dispose()


def eligibility() -> dict[str, Any]:
    request = eligibility_request()
    request["subscriber"]["memberId"] = MEMBER_ID
    return request


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


# ----------------------------------------------------------------------- accepting requests


def test_eligibility_is_accepted_and_visible(api: Api) -> None:
    with api.client() as client:
        response = client.post("/eligibility", json=eligibility())
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["state"] == "validated"
        assert accepted["links"]["self"] == f"/transactions/{accepted['id']}"
        assert response.headers["location"] == accepted["links"]["self"]

        view = client.get(accepted["links"]["self"]).json()
    assert view["id"] == accepted["id"] and view["kind"] == "eligibility" and view["state"] == "validated"
    assert view["controlNumber"] == "123456789"
    assert [(h["from"], h["state"]) for h in view["history"]] == [(None, "received"), ("received", "validated")]
    assert all(h["at"] for h in view["history"])
    assert MEMBER_ID not in json.dumps(view)  # the view carries state, not the request
    [payload] = api.repository.payloads(accepted["id"], submitter_id=ALL_SUBMITTERS)
    assert payload.kind == "request-json" and payload.document_type == "270"


def test_claims_one_and_many_are_accepted(api: Api) -> None:
    with api.client(header="x-api-key") as client:
        one = client.post("/claims", json=professional_claim())
        assert one.status_code == 202, one.text
        batch = client.post("/claims", json=[professional_claim(), institutional_claim()])
        assert batch.status_code == 202, batch.text
        ids = [one.json()["id"]] + [t["id"] for t in batch.json()["transactions"]]
        for transaction_id in ids:
            view = client.get(f"/transactions/{transaction_id}").json()
            assert view["kind"] == "claim" and view["state"] == "validated"
        listed = client.get("/transactions", params={"kind": "claim", "state": "validated,received"}).json()
        assert sorted(item["id"] for item in listed["items"]) == sorted(ids)
        page = client.get("/transactions", params={"limit": 2}).json()
        assert len(page["items"]) == 2 and page["nextCursor"]
        rest = client.get("/transactions", params={"limit": 2, "cursor": page["nextCursor"]}).json()
        assert len(rest["items"]) == 1 and rest["nextCursor"] is None
        assert client.get("/transactions", params={"kind": "eligibility"}).json()["items"] == []
        assert client.get("/transactions", params={"since": "2999-01-01T00:00:00Z"}).json()["items"] == []
        assert_problem(client.get("/transactions", params={"state": "nonsense"}), 400)
        assert_problem(client.get("/transactions", params={"limit": 0}), 400)
    document_types = sorted(
        p.document_type for t in ids for p in api.repository.payloads(t, submitter_id=ALL_SUBMITTERS)
    )
    assert document_types == ["837I", "837P", "837P"]


# ----------------------------------------------------------------------- bad requests


def test_bad_request_lists_every_field_path(api: Api) -> None:
    request = eligibility()
    request["provider"]["npi"] = "1234567890"  # bad check digit
    del request["subscriber"]["lastName"]
    request["encounter"]["dateOfService"] = "20241399"
    with api.client() as client:
        body = assert_problem(client.post("/eligibility", json=request), 400)
        fields = {error["field"] for error in body["errors"]}
        assert {"provider.npi", "encounter.dateOfService"} <= fields
        assert all(error["message"] for error in body["errors"])
        assert MEMBER_ID not in json.dumps(body)

        claim = professional_claim()
        claim["claimInformation"]["claimChargeAmount"] = "999.00"  # does not balance
        batch = assert_problem(client.post("/claims", json=[professional_claim(), claim]), 400)
        assert [e["field"] for e in batch["errors"]] == ["[1].claimInformation.claimChargeAmount"]

        broken = assert_problem(client.post("/claims", content=b"{not json", headers={"content-type": "application/json"}), 400)
        assert broken["errors"] == [{"field": "", "message": "is not valid JSON"}]
        assert_problem(client.post("/claims", json=[]), 400)
        assert client.get("/transactions").json()["items"] == []  # nothing was recorded


# ----------------------------------------------------------------------- idempotency


def test_idempotency_replay_and_conflict(api: Api) -> None:
    with api.client() as client:
        headers = {"Idempotency-Key": "req-1"}
        first = client.post("/eligibility", json=eligibility(), headers=headers)
        again = client.post("/eligibility", json=eligibility(), headers=headers)
        assert first.status_code == again.status_code == 202
        assert first.json() == again.json()

        other = eligibility()
        other["controlNumber"] = "987654321"
        body = assert_problem(client.post("/eligibility", json=other, headers=headers), 409)
        assert "Idempotency-Key" in body["detail"]

        batch = [professional_claim(), institutional_claim()]
        b1 = client.post("/claims", json=batch, headers={"Idempotency-Key": "batch-1"})
        b2 = client.post("/claims", json=batch, headers={"Idempotency-Key": "batch-1"})
        assert b1.status_code == b2.status_code == 202 and b1.json() == b2.json()
        assert_problem(client.post("/claims", json=batch[:1], headers={"Idempotency-Key": "batch-1"}), 409)

        assert len(client.get("/transactions").json()["items"]) == 3
    # the other submitter may use the same key for its own request
    with api.client(KEY_B) as client:
        response = client.post("/eligibility", json=other, headers=headers)
        assert response.status_code == 202 and response.json()["id"] != first.json()["id"]
    # replays left no orphan payloads behind: one object per transaction
    assert len([p for p in api.payload_dir.rglob("*") if p.is_file()]) == 4


def test_an_idempotency_key_is_matched_but_never_stored(api: Api) -> None:
    """Clients build keys from what they have (a member id, a file name): the store keeps a digest."""
    key = f"{MEMBER_ID}-smith_john_19800101.json"
    with api.client() as client:
        first = client.post("/eligibility", json=eligibility(), headers={"Idempotency-Key": key})
        again = client.post("/eligibility", json=eligibility(), headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
    (record,) = api.repository.list_transactions(TransactionFilter(submitter_id=ALL_SUBMITTERS)).items
    assert record.idempotency_key is not None
    assert MEMBER_ID not in record.idempotency_key and "smith" not in record.idempotency_key


# ----------------------------------------------------------------------- access


def test_other_submitters_transaction_is_not_found(api: Api) -> None:
    with api.client(KEY_A) as client:
        transaction_id = client.post("/eligibility", json=eligibility()).json()["id"]
    with api.client(KEY_B) as client:
        body = assert_problem(client.get(f"/transactions/{transaction_id}"), 404)
        assert transaction_id not in body["detail"]
        assert client.get("/transactions").json()["items"] == []
        assert_problem(client.get("/transactions/does-not-exist"), 404)


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_unknown_key_is_401(api: Api, key: str | None) -> None:
    with api.client(key) as client:
        assert_problem(client.post("/eligibility", json=eligibility()), 401)
        assert_problem(client.get("/transactions"), 401)
    with api.client(key, header="x-api-key") as client:
        response = client.get("/transactions")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_oversized_body_is_413(api: Api) -> None:
    big = [professional_claim() for _ in range(800)]  # about 1.3 MB against a 1 MB limit
    with api.client() as client:
        assert_problem(client.post("/claims", json=big), 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
            yield b"["
            for index in range(800):
                yield (b"," if index else b"") + json.dumps(professional_claim()).encode()
            yield b"]"

        assert_problem(client.post("/claims", content=chunks(), headers={"content-type": "application/json"}), 413)
        assert client.get("/transactions").json()["items"] == []


# ----------------------------------------------------------------------- storage and docs


def test_stored_payload_is_encrypted(api: Api) -> None:
    with api.client() as client:
        assert client.post("/eligibility", json=eligibility()).status_code == 202
    files = [p for p in api.payload_dir.rglob("*") if p.is_file()]
    assert len(files) == 1
    blob = files[0].read_bytes()
    assert MEMBER_ID.encode() not in blob and b"JOHN" not in blob and b"memberId" not in blob


def test_openapi_is_served(api: Api) -> None:
    with httpx.Client(base_url=api.url) as client:
        document = client.get("/openapi.json").json()
    assert {"/eligibility", "/claims", "/transactions", "/transactions/{transaction_id}"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert {"EligibilityRequest", "ProfessionalClaimRequest", "InstitutionalClaimRequest", "ProblemDetails"} <= set(schemas)
    body = document["paths"]["/eligibility"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EligibilityRequest"}
