"""The pipeline's API behind OAuth2: each route needs its scope, each submitter sees only its own.

The real API (``create_app``) runs under uvicorn on loopback with the pipeline's own token issuer;
clients get tokens from ``POST /oauth/token`` as a submitter's system would. API keys, the simpler
option, keep working for a submitter's everyday scopes.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.api import create_app, hash_api_key
from connectors.api.auth import build_verifier
from edi.auth import (
    AuthSettings,
    ClientRegistry,
    OAuthClient,
    Scope,
    SigningKeys,
    TokenIssuer,
    generate_signing_key_pem,
    hash_client_secret,
)
from edi.keys import KeyRing
from edi.payloads import LocalPayloadStore
from edi.store import Repository, make_engine, migrate
from tests.servers.http import serve
from tests.test_checks import eligibility_request, professional_claim

ISSUER, AUDIENCE = "https://edi.test/", "https://api.edi.test"
FAST = {"n": 2**10}
SECRETS = {"a-claims": "secret-a-claims", "a-read": "secret-a-read", "b-read": "secret-b-read",
           "officer": "secret-officer"}
API_KEY_A = "api-key-of-clinic-a"


@dataclass
class Api:
    url: str
    keys: SigningKeys
    engine: Any

    def token(self, client_id: str) -> str:
        answer = httpx.post(f"{self.url}/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(client_id, SECRETS[client_id]))
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def client(self, credential: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {credential}"}, timeout=30)


def _client(client_id: str, *scopes: Scope) -> OAuthClient:
    return OAuthClient(client_id=client_id, secret_hash=hash_client_secret(SECRETS[client_id], **FAST),
                       scopes=list(scopes))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("api-tokens")
    engine = make_engine(f"sqlite:///{root / 'edi.db'}")
    migrate(engine)
    keyring = KeyRing({"k1": base64.b64decode(base64.b64encode(os.urandom(32)))}, "k1")
    store = LocalPayloadStore(root / "payloads", keyring, durable=False)
    keys = SigningKeys.from_pems({"k1": generate_signing_key_pem()}, "k1")
    issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    settings = AuthSettings(ISSUER, AUDIENCE, 900, keys, None)
    clients = ClientRegistry.from_submitters({
        "clinic-a": [_client("a-claims", Scope.CLAIMS_WRITE), _client("a-read", Scope.TRANSACTIONS_READ)],
        "clinic-b": [_client("b-read", Scope.TRANSACTIONS_READ)],
        "compliance": [_client("officer", Scope.AUDIT_READ)],
    })
    app = create_app(Repository(engine), store, {hash_api_key(API_KEY_A): "clinic-a"},
                     verifier=build_verifier(settings, issuer), token_issuer=issuer, oauth_clients=clients)
    with serve(app) as url:
        yield Api(url, keys, engine)
    engine.dispose()


def _claim_id(api: Api) -> str:
    with api.client(api.token("a-claims")) as client:
        answer = client.post("/claims", json=professional_claim())
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_a_token_opens_only_the_routes_of_its_scopes(api: Api) -> None:
    claims_token = api.token("a-claims")
    transaction_id = _claim_id(api)
    with api.client(claims_token) as client:
        for method, path, body in (("POST", "/eligibility", eligibility_request()),
                                   ("GET", f"/transactions/{transaction_id}", None), ("GET", "/transactions", None)):
            answer = client.request(method, path, json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    with api.client(api.token("a-read")) as client:
        assert client.get(f"/transactions/{transaction_id}").status_code == 200
        assert client.post("/claims", json=professional_claim()).status_code == 403


def test_another_submitters_token_sees_nothing_of_it(api: Api) -> None:
    transaction_id = _claim_id(api)
    with api.client(api.token("b-read")) as client:
        answer = client.get(f"/transactions/{transaction_id}")
        assert answer.status_code == 404, answer.text
        listed = client.get("/transactions").json()
        assert transaction_id not in {item["id"] for item in listed["items"]}
    with api.client(api.token("a-read")) as client:
        assert transaction_id in {item["id"] for item in client.get("/transactions").json()["items"]}


@pytest.mark.parametrize("case", ["missing", "expired", "forged", "wrong-audience"])
def test_bad_tokens_are_refused(api: Api, case: str) -> None:
    if case == "missing":
        answer = httpx.post(f"{api.url}/claims", json=professional_claim())
    else:
        keys = api.keys if case != "forged" else SigningKeys.from_pems({"k1": generate_signing_key_pem()}, "k1")
        clock = (lambda: time.time() - 3600) if case == "expired" else time.time
        audience = "https://elsewhere.test" if case == "wrong-audience" else AUDIENCE
        token = TokenIssuer(keys, issuer=ISSUER, audience=audience, lifetime_seconds=60, clock=clock).issue(
            "clinic-a", [Scope.CLAIMS_WRITE.value]).access_token
        with api.client(token) as client:
            answer = client.post("/claims", json=professional_claim())
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_api_key_grants_a_submitters_everyday_scopes_only(api: Api) -> None:
    with api.client(API_KEY_A) as client:
        answer = client.post("/claims", json=professional_claim())
        assert answer.status_code == 202, answer.text
        assert client.get(f"/transactions/{answer.json()['id']}").status_code == 200
    with api.client("not-a-key") as client:
        assert client.post("/claims", json=professional_claim()).status_code == 401


def test_the_commands_configure_tokens_from_the_environment_only_when_asked() -> None:
    from connectors.api.auth import api_auth_options

    clients = {"clinic-a": [_client("a-read", Scope.TRANSACTIONS_READ)]}
    assert api_auth_options(clients, {}) == {}, "no EDI_AUTH_AUDIENCE: API keys only"
    env = {"EDI_AUTH_AUDIENCE": AUDIENCE, "EDI_AUTH_ISSUER": ISSUER,
           "EDI_AUTH_SIGNING_KEYS": json.dumps({"keys": {"k9": generate_signing_key_pem()}, "current": "k9"})}
    options = api_auth_options(clients, env)
    token = options["token_issuer"].issue("clinic-a", ["transactions:read"]).access_token
    principal = options["verifier"].verify(token)
    assert (principal.submitter_id, principal.scopes) == ("clinic-a", frozenset({"transactions:read"}))
    assert options["oauth_clients"].authenticate("a-read", SECRETS["a-read"]) is not None


def test_every_read_of_a_transaction_is_on_the_audit_trail(api: Api) -> None:
    """Who read which transaction (PHI in its responses), and who asked for one not theirs."""
    from sqlalchemy import select

    from edi.audit.models import AuditEntry

    transaction_id = _claim_id(api)
    with api.client(api.token("a-read")) as client:
        assert client.get(f"/transactions/{transaction_id}").status_code == 200
    with api.client(api.token("b-read")) as client:
        assert client.get(f"/transactions/{transaction_id}").status_code == 404
    with api.engine.connect() as connection:
        reads = connection.execute(
            select(AuditEntry.actor, AuditEntry.outcome, AuditEntry.kind)
            .where(AuditEntry.transaction_id == transaction_id, AuditEntry.action == "read")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in reads] == [("api:clinic-a", "ok", "access"), ("api:clinic-b", "not-found", "access")]


def test_reports_need_an_access_token_with_audit_read(api: Api) -> None:
    _claim_id(api)
    query = {"from": "2000-01-01", "to": "2100-01-01", "format": "json"}
    with api.client(api.token("officer")) as client:
        answer = client.get("/reports/volume", params=query)
        assert answer.status_code == 200, answer.text
        assert answer.json()["kind"] == "volume"
    for credential in (api.token("a-read"), API_KEY_A):
        with api.client(credential) as client:
            assert client.get("/reports/volume", params=query).status_code in (401, 403)
