"""OAuth2 on a real HTTP server: the token endpoint, the JWKS, and scope-gated routes.

A small FastAPI app of the test's own (one route per scope) runs under uvicorn on loopback with
``install_auth``; an external issuer is another uvicorn server publishing an RSA JWKS. Every
refusal is checked on the wire: status, problem+json body, and the ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI

from connectors.api.auth import install_auth, require_scope
from edi.auth import (
    AuthSettings,
    ClientRegistry,
    OAuthClient,
    Principal,
    Scope,
    SigningKeys,
    TokenIssuer,
    generate_signing_key_pem,
    hash_client_secret,
)
from tests.servers.http import serve

ISSUER = "https://edi.test/"
AUDIENCE = "https://api.edi.test"
EXTERNAL_ISSUER = "https://idp.test/realms/edi"
FAST = {"n": 2**10}  # a cheap scrypt for tests; production uses the module default

SECRETS = {"clinic-claims": "s3cret-claims", "clinic-all": "s3cret+all/=", "other-read": "s3cret-read"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def scope_app() -> FastAPI:
    app = FastAPI()

    def add(scope: str) -> None:
        gate = Depends(require_scope(scope))  # a local: string annotations cannot see it

        @app.get(f"/gated/{scope}")
        def route(principal: Principal = gate) -> dict[str, Any]:
            return {"submitter": principal.submitter_id, "scope": scope}

    for scope in Scope:
        add(scope.value)
    return app


@dataclass
class Stack:
    url: str
    jwks_url: str
    keys: SigningKeys
    external_key: Any  # RSA private key of the external issuer
    settings: AuthSettings
    own: TokenIssuer

    def token(self, client_id: str, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        answer = httpx.post(f"{self.url}/oauth/token", data=form, auth=(client_id, SECRETS[client_id]))
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def get(self, scope: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.get(f"{self.url}/gated/{scope}", headers=headers)


def jwks_app(document: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/jwks.json")
    def jwks() -> dict[str, Any]:
        return document

    return app


@pytest.fixture(scope="module")
def external_key() -> Any:
    return serialization.load_pem_private_key(generate_signing_key_pem("RSA").encode(), None)


@pytest.fixture(scope="module")
def stack(external_key: Any) -> Iterator[Stack]:
    from jwt.algorithms import RSAAlgorithm

    external_jwk = RSAAlgorithm.to_jwk(external_key.public_key(), as_dict=True) | {"kid": "ext-1", "use": "sig"}
    keys = SigningKeys.from_pems({"k-old": generate_signing_key_pem(), "k-new": generate_signing_key_pem()}, "k-new")
    clients = ClientRegistry.from_submitters({
        "clinic-a": [
            OAuthClient(client_id="clinic-claims", secret_hash=hash_client_secret(SECRETS["clinic-claims"], **FAST),
                        scopes=[Scope.CLAIMS_WRITE]),
            OAuthClient(client_id="clinic-all", secret_hash=hash_client_secret(SECRETS["clinic-all"], **FAST),
                        scopes=list(Scope)),
        ],
        "clinic-b": [
            OAuthClient(client_id="other-read", secret_hash=hash_client_secret(SECRETS["other-read"], **FAST),
                        scopes=[Scope.TRANSACTIONS_READ]),
        ],
    })
    with serve(jwks_app({"keys": [external_jwk]})) as idp:
        env = {
            "EDI_AUTH_ISSUER": ISSUER, "EDI_AUTH_AUDIENCE": AUDIENCE,
            "EDI_AUTH_SIGNING_KEYS": json.dumps({"keys": {k: v.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode() for k, v in keys.keys.items()}, "current": "k-new"}),
            "EDI_AUTH_EXTERNAL_ISSUER": EXTERNAL_ISSUER, "EDI_AUTH_EXTERNAL_JWKS_URL": f"{idp}/jwks.json",
        }
        settings = AuthSettings.from_env(env)
        from connectors.api.auth import build_issuer, build_verifier

        own = build_issuer(settings)
        assert own is not None
        app = scope_app()
        install_auth(app, build_verifier(settings, own), issuer=own, clients=clients)
        with serve(app) as url:
            yield Stack(url, f"{idp}/jwks.json", settings.signing_keys, external_key, settings, own)  # type: ignore[arg-type]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "clinic-a", "scope": "claims:write", "iat": now,
            "exp": now + 300, "jti": "j-1"}
    return {k: v for k, v in (base | overrides).items() if v is not None}


def own_signed(stack: Stack, kid: str = "k-new", **overrides: Any) -> str:
    key = stack.keys.keys[kid]
    return jwt.encode(claims(**overrides), key.private_key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})


def assert_unauthorized(answer: httpx.Response, *, error: str | None = "invalid_token") -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == 401 and body["type"].startswith("https://")
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="edi"')
    if error:
        assert f'error="{error}"' in challenge
    else:
        assert "error=" not in challenge


# -- the token endpoint ---------------------------------------------------------------------------


def test_basic_auth_token_is_a_signed_jwt_for_the_submitter(stack: Stack) -> None:
    answer = httpx.post(f"{stack.url}/oauth/token", data={"grant_type": "client_credentials"},
                        auth=("clinic-claims", SECRETS["clinic-claims"]))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "claims:write" and body["expires_in"] == 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["kid"] == "k-new" and header["typ"] == "at+jwt"
    public = stack.keys.keys["k-new"].public_key
    decoded = jwt.decode(body["access_token"], public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
    assert decoded["sub"] == "clinic-a" and decoded["client_id"] == "clinic-claims"
    assert decoded["exp"] - decoded["iat"] == 900 and decoded["jti"]


def test_form_field_client_auth_and_requested_scope_subset(stack: Stack) -> None:
    answer = httpx.post(f"{stack.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "clinic-all", "client_secret": SECRETS["clinic-all"],
        "scope": "audit:read transactions:read"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "audit:read transactions:read"
    token = answer.json()["access_token"]
    assert stack.get("audit:read", token).status_code == 200
    assert stack.get("claims:write", token).status_code == 403


def test_basic_credentials_form_encoded_as_rfc_6749_says(stack: Stack) -> None:
    from urllib.parse import quote_plus

    raw = f"{quote_plus('clinic-all')}:{quote_plus(SECRETS['clinic-all'])}".encode()
    answer = httpx.post(f"{stack.url}/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("form", "auth", "status", "error"), [
    ({"grant_type": "client_credentials"}, ("clinic-claims", "wrong"), 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, ("nobody", "whatever"), 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
    ({"grant_type": "password", "username": "u", "password": "p"}, ("clinic-claims", SECRETS["clinic-claims"]),
     400, "unsupported_grant_type"),
    ({}, ("clinic-claims", SECRETS["clinic-claims"]), 400, "invalid_request"),
    ({"grant_type": "client_credentials", "scope": "admin"}, ("clinic-claims", SECRETS["clinic-claims"]),
     400, "invalid_scope"),
    ({"grant_type": "client_credentials", "scope": "claims:delete"}, ("clinic-all", SECRETS["clinic-all"]),
     400, "invalid_scope"),
    ({"grant_type": "client_credentials", "client_secret": SECRETS["clinic-all"]},
     ("clinic-all", SECRETS["clinic-all"]), 400, "invalid_request"),
])
def test_token_endpoint_errors_follow_rfc_6749(
    stack: Stack, form: dict[str, str], auth: tuple[str, str] | None, status: int, error: str
) -> None:
    answer = httpx.post(f"{stack.url}/oauth/token", data=form, auth=auth)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error and answer.json()["error_description"]
    assert answer.headers["cache-control"] == "no-store"
    if status == 401:
        assert answer.headers["www-authenticate"] == 'Basic realm="edi"'


def test_token_request_must_be_form_encoded_without_repeats(stack: Stack) -> None:
    as_json = httpx.post(f"{stack.url}/oauth/token", json={"grant_type": "client_credentials"},
                         auth=("clinic-all", SECRETS["clinic-all"]))
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    repeated = httpx.post(f"{stack.url}/oauth/token", content=b"grant_type=client_credentials&scope=admin&scope=admin",
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=("clinic-all", SECRETS["clinic-all"]))
    assert repeated.status_code == 400 and "repeated" in repeated.json()["error_description"]


def test_jwks_publishes_every_key_and_rotation_keeps_old_tokens_valid(stack: Stack) -> None:
    answer = httpx.get(f"{stack.url}/.well-known/jwks.json")
    assert answer.status_code == 200
    published = {k["kid"]: k for k in answer.json()["keys"]}
    assert set(published) == {"k-old", "k-new"}
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in published.values())
    # a token signed by the retired-but-published key still verifies, through the JWKS too
    old = own_signed(stack, kid="k-old")
    assert stack.get("claims:write", old).status_code == 200
    jwk = jwt.PyJWK(published["k-old"])
    assert jwt.decode(old, jwk.key, algorithms=["ES256"], audience=AUDIENCE)["sub"] == "clinic-a"


# -- scopes gate routes -----------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [s.value for s in Scope])
def test_each_scope_gates_its_route(stack: Stack, scope: str) -> None:
    token = stack.token("clinic-all", scope)
    for other in Scope:
        answer = stack.get(other.value, token)
        if other.value == scope:
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"submitter": "clinic-a", "scope": scope}
        else:
            assert answer.status_code == 403, (other, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"].endswith("/insufficient-scope")
            assert f'scope="{other.value}"' in answer.headers["www-authenticate"]
            assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]


def test_the_token_names_its_own_submitter(stack: Stack) -> None:
    token = stack.token("other-read")
    answer = stack.get("transactions:read", token)
    assert answer.status_code == 200 and answer.json()["submitter"] == "clinic-b"
    assert stack.get("claims:write", token).status_code == 403


# -- refused tokens ---------------------------------------------------------------------------------


def test_missing_token_is_401_with_a_bare_challenge(stack: Stack) -> None:
    assert_unauthorized(stack.get("claims:write", None), error=None)
    answer = httpx.get(f"{stack.url}/gated/claims:write", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_unauthorized(answer, error=None)


def test_expired_token_is_refused(stack: Stack) -> None:
    past = int(time.time()) - 3600
    answer = stack.get("claims:write", own_signed(stack, iat=past, exp=past + 60))
    assert_unauthorized(answer)
    assert "expired" in answer.json()["detail"]


def test_token_forged_with_another_key_is_refused(stack: Stack) -> None:
    other = serialization.load_pem_private_key(generate_signing_key_pem().encode(), None)
    forged = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "k-new", "typ": "at+jwt"})
    answer = stack.get("claims:write", forged)
    assert_unauthorized(answer)
    assert "signature" in answer.json()["detail"]
    unknown_kid = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "k-forged", "typ": "at+jwt"})
    assert_unauthorized(stack.get("claims:write", unknown_kid))


def test_tampered_payload_is_refused(stack: Stack) -> None:
    header, _payload, signature = own_signed(stack).split(".")
    payload = _b64(json.dumps(claims(scope="admin claims:write")).encode())
    assert_unauthorized(stack.get("admin", f"{header}.{payload}.{signature}"))


def test_wrong_audience_is_refused(stack: Stack) -> None:
    answer = stack.get("claims:write", own_signed(stack, aud="https://another-api.test"))
    assert_unauthorized(answer)
    assert "not meant for this API" in answer.json()["detail"]


def test_wrong_issuer_is_refused_even_with_our_signature(stack: Stack) -> None:
    answer = stack.get("claims:write", own_signed(stack, iss="https://evil.test/"))
    assert_unauthorized(answer)
    assert "issuer" in answer.json()["detail"]
    # our key but claiming to be the external issuer: its JWKS has no such key
    assert_unauthorized(stack.get("claims:write", own_signed(stack, iss=EXTERNAL_ISSUER)))


def test_alg_none_is_refused(stack: Stack) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k-new"}).encode())
    payload = _b64(json.dumps(claims()).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert_unauthorized(stack.get("claims:write", token))


def test_hs256_signed_with_the_public_key_is_refused(stack: Stack) -> None:
    """Algorithm confusion: an attacker HMACs with the published key; the verifier never runs HMAC."""
    public = stack.keys.keys["k-new"].public_key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwks_json = httpx.get(f"{stack.url}/.well-known/jwks.json").content
    for secret in (pem, jwks_json):
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k-new"}).encode())
        payload = _b64(json.dumps(claims()).encode())
        signature = _b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        answer = stack.get("claims:write", f"{header}.{payload}.{signature}")
        assert_unauthorized(answer)


def test_garbage_token_is_refused(stack: Stack) -> None:
    assert_unauthorized(stack.get("claims:write", "not-a-jwt"))


def test_our_signature_on_a_jwt_that_is_not_an_access_token_is_refused(stack: Stack) -> None:
    key = stack.keys.keys["k-new"]
    for header in ({"kid": "k-new"}, {"kid": "k-new", "typ": "JWT"}):
        token = jwt.encode(claims(), key.private_key, algorithm="ES256", headers=header)
        answer = stack.get("claims:write", token)
        assert_unauthorized(answer)
        assert "not an access token" in answer.json()["detail"]
    bad_scope = jwt.encode(claims(scope=7), key.private_key, algorithm="ES256", headers={"kid": "k-new", "typ": "at+jwt"})
    assert_unauthorized(stack.get("claims:write", bad_scope))


# -- an external issuer by JWKS URL -----------------------------------------------------------------


def external_signed(key: Any, kid: str = "ext-1", **overrides: Any) -> str:
    body = claims(iss=EXTERNAL_ISSUER, jti=None, scope=None, scp=["claims:write", "transactions:read"]) | overrides
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def test_external_issuer_token_is_accepted_through_its_jwks(stack: Stack) -> None:
    token = external_signed(stack.external_key)
    answer = stack.get("claims:write", token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["submitter"] == "clinic-a"
    assert stack.get("transactions:read", token).status_code == 200
    assert stack.get("admin", token).status_code == 403


def test_external_issuer_refusals(stack: Stack) -> None:
    other = serialization.load_pem_private_key(generate_signing_key_pem("RSA").encode(), None)
    assert_unauthorized(stack.get("claims:write", external_signed(other)))  # forged, same kid
    assert_unauthorized(stack.get("claims:write", external_signed(other, kid="ext-unknown")))
    assert_unauthorized(stack.get("claims:write", external_signed(stack.external_key, aud="https://else.test")))
    past = int(time.time()) - 3600
    assert_unauthorized(stack.get("claims:write", external_signed(stack.external_key, iat=past, exp=past + 60)))
    # HS256 keyed with the external issuer's published JWKS document
    jwks_json = httpx.get(stack.jwks_url).content
    header = _b64(json.dumps({"alg": "HS256", "kid": "ext-1"}).encode())
    payload = _b64(json.dumps(claims(iss=EXTERNAL_ISSUER)).encode())
    signature = _b64(hmac.new(jwks_json, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert_unauthorized(stack.get("claims:write", f"{header}.{payload}.{signature}"))


def test_unreachable_external_jwks_is_503_not_401(stack: Stack) -> None:
    from connectors.api.auth import build_verifier
    from tests.servers.http import free_socket

    sock = free_socket()  # bound but never listening: connection refused
    port = sock.getsockname()[1]
    settings = AuthSettings.from_env({"EDI_AUTH_AUDIENCE": AUDIENCE, "EDI_AUTH_EXTERNAL_ISSUER": EXTERNAL_ISSUER,
                                      "EDI_AUTH_EXTERNAL_JWKS_URL": f"http://127.0.0.1:{port}/jwks.json"})
    app = scope_app()
    install_auth(app, build_verifier(settings))
    try:
        with serve(app) as url:
            answer = httpx.get(f"{url}/gated/claims:write",
                               headers={"Authorization": f"Bearer {external_signed(stack.external_key)}"})
    finally:
        sock.close()
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
