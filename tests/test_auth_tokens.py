"""The pure side of authentication: secret hashes, signing keys, settings, issue and verify."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from edi.auth import (
    AuthSettings,
    AuthSettingsError,
    ClientRegistry,
    OAuthClient,
    OAuthError,
    Scope,
    SigningKeyError,
    SigningKeys,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    client_credentials_grant,
    generate_client_secret,
    generate_signing_key_pem,
    hash_client_secret,
    verify_client_secret,
)
from edi.auth.clients import SCRYPT_N
from edi.partners import PartnersConfigError, parse_partners

FAST = {"n": 2**10}


def test_secret_hash_is_salted_scrypt_and_verifies_only_the_secret() -> None:
    secret = generate_client_secret()
    first, second = hash_client_secret(secret, **FAST), hash_client_secret(secret, **FAST)
    assert first.startswith("scrypt$1024$8$1$") and first != second  # per-secret salt
    assert secret not in first
    assert verify_client_secret(secret, first) and verify_client_secret(secret, second)
    assert not verify_client_secret(secret + "x", first)
    assert hash_client_secret("s").startswith(f"scrypt${SCRYPT_N}$")


@pytest.mark.parametrize("bad", ["", "sha256$abc", "scrypt$1000$8$1$AAAA$AAAA", "scrypt$1024$8$1$AA!A$AAAA",
                                 "scrypt$4194304$8$1$AAAA$AAAA"])
def test_malformed_secret_hashes_are_refused_by_configuration(bad: str) -> None:
    with pytest.raises(ValueError, match="scrypt"):
        OAuthClient(client_id="c", secret_hash=bad, scopes=[Scope.ADMIN])


def test_clients_are_configured_under_their_submitter_in_the_partners_file() -> None:
    hashed = hash_client_secret("top-secret", **FAST)
    config = parse_partners(f"""
submitters:
  clinic-a:
    oauth_clients:
      - client_id: clinic-a-billing
        secret_hash: "{hashed}"
        scopes: [claims:write, transactions:read]
""")
    registry = ClientRegistry.from_submitters({s.id: s.oauth_clients for s in config.submitters.values()})
    client = registry.authenticate("clinic-a-billing", "top-secret")
    assert client is not None and client.submitter_id == "clinic-a"
    assert client.scopes == {"claims:write", "transactions:read"}
    assert registry.authenticate("clinic-a-billing", "wrong") is None
    assert registry.authenticate("nobody", "top-secret") is None
    with pytest.raises(PartnersConfigError) as error:
        parse_partners(f"""
submitters:
  clinic-a:
    oauth_clients: [{{client_id: x, secret_hash: "{hashed}", scopes: [claims:delete]}}]
""")
    assert "scopes" in str(error.value)


def test_a_client_id_cannot_serve_two_submitters() -> None:
    client = OAuthClient(client_id="shared", secret_hash=hash_client_secret("s", **FAST), scopes=[Scope.ADMIN])
    with pytest.raises(ValueError, match="twice"):
        ClientRegistry.from_submitters({"a": [client], "b": [client]})


def test_signing_keys_errors_never_quote_key_material(tmp_path: object) -> None:
    pem = generate_signing_key_pem()
    weak = generate_signing_key_pem("RSA").replace("A", "B", 3)  # corrupted
    for document, message in [
        ({"keys": {"k1": weak}, "current": "k1"}, "not an unencrypted PEM"),
        ({"keys": {"k1": pem}, "current": "k2"}, "current signing key"),
        ({"keys": {"bad id!": pem}, "current": "bad id!"}, "key ids"),
        ({"keys": {}, "current": "k1"}, "no keys"),
    ]:
        with pytest.raises(SigningKeyError, match=message) as error:
            SigningKeys.from_env({"EDI_AUTH_SIGNING_KEYS": json.dumps(document)})
        assert "PRIVATE KEY" not in str(error.value) and pem[40:80] not in str(error.value)
    with pytest.raises(SigningKeyError, match="EDI_AUTH_SIGNING_KEYS"):
        SigningKeys.from_env({})


def test_signing_keys_from_file_and_algorithm_follows_the_key(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "signing.json"  # type: ignore[operator]
    path.write_text(json.dumps({"keys": {"ec": generate_signing_key_pem(), "rsa": generate_signing_key_pem("RSA")},
                                "current": "rsa"}))
    keys = SigningKeys.from_env({"EDI_AUTH_SIGNING_KEYS_FILE": str(path)})
    assert keys.keys["ec"].algorithm == "ES256" and keys.current_key.algorithm == "RS256"
    issuer = TokenIssuer(keys, issuer="https://i", audience="a")
    token = issuer.issue("clinic-a", ["admin"]).access_token
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert TokenVerifier([issuer.trusted()]).verify(token).submitter_id == "clinic-a"
    assert "PRIVATE" not in repr(keys)


def test_settings_say_which_variable_is_missing() -> None:
    pem = generate_signing_key_pem()
    keys = json.dumps({"keys": {"k1": pem}, "current": "k1"})
    with pytest.raises(AuthSettingsError, match="EDI_AUTH_AUDIENCE"):
        AuthSettings.from_env({"EDI_AUTH_SIGNING_KEYS": keys})
    with pytest.raises(AuthSettingsError, match="EDI_AUTH_ISSUER"):
        AuthSettings.from_env({"EDI_AUTH_SIGNING_KEYS": keys, "EDI_AUTH_AUDIENCE": "a"})
    with pytest.raises(AuthSettingsError, match="EDI_AUTH_EXTERNAL_JWKS_URL"):
        AuthSettings.from_env({"EDI_AUTH_AUDIENCE": "a", "EDI_AUTH_EXTERNAL_ISSUER": "https://idp"})
    with pytest.raises(AuthSettingsError, match="no token issuer"):
        AuthSettings.from_env({"EDI_AUTH_AUDIENCE": "a"})
    settings = AuthSettings.from_env({"EDI_AUTH_SIGNING_KEYS": keys, "EDI_AUTH_AUDIENCE": "a",
                                      "EDI_AUTH_ISSUER": "https://i", "EDI_AUTH_TOKEN_LIFETIME": "60"})
    assert settings.lifetime_seconds == 60 and settings.external is None


def test_grant_and_verify_without_http() -> None:
    keys = SigningKeys.from_pems({"k1": generate_signing_key_pem()}, "k1")
    now = [1_700_000_000.0]  # November 2023
    issuer = TokenIssuer(keys, issuer="https://i", audience="api", lifetime_seconds=60, clock=lambda: now[0])
    registry = ClientRegistry.from_submitters({"clinic-a": [
        OAuthClient(client_id="c1", secret_hash=hash_client_secret("pw", **FAST), scopes=[Scope.CLAIMS_WRITE])]})
    form = {"grant_type": "client_credentials", "client_id": "c1", "client_secret": "pw"}
    issued = client_credentials_grant(form, None, registry, issuer)
    with pytest.raises(OAuthError) as refused:
        client_credentials_grant(form | {"scope": "admin"}, None, registry, issuer)
    assert refused.value.error == "invalid_scope" and refused.value.status == 400
    with pytest.raises(OAuthError) as refused:
        client_credentials_grant(form, "Basic !!!", registry, issuer)
    assert refused.value.error == "invalid_client" and refused.value.challenge
    verifier = TokenVerifier([issuer.trusted()], leeway_seconds=0)
    with pytest.raises(TokenError) as expired:  # the verifier uses real time: 2023 is long past
        verifier.verify(issued.access_token)
    assert expired.value.reason == "expired"
    fresh = TokenIssuer(keys, issuer="https://i", audience="api").issue("clinic-a", ["claims:write"])
    principal = verifier.verify(fresh.access_token)
    assert principal.submitter_id == "clinic-a" and principal.has("claims:write") and not principal.has("admin")
    assert principal.expires_at > time.time()
    with pytest.raises(TokenError) as missing:
        verifier.verify("")
    assert missing.value.reason == "missing"
