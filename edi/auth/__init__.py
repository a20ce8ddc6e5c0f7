"""Who may call the API: OAuth2 client credentials, signed access tokens, scopes.

Pure domain code (no network, no web framework): ``connectors.api.auth`` serves the token
endpoint and the JWKS, fetches external issuers' keys, and turns these decisions into HTTP.
"""

from edi.auth.clients import (
    ClientRegistry,
    OAuthClient,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from edi.auth.grant import OAuthError, client_credentials_grant
from edi.auth.scopes import Scope
from edi.auth.settings import AuthSettings, AuthSettingsError, ExternalIssuer
from edi.auth.signing import SigningKeyError, SigningKeys, generate_signing_key_pem
from edi.auth.tokens import IssuedToken, Principal, TokenError, TokenIssuer, TokenVerifier, TrustedIssuer

__all__ = [
    "AuthSettings",
    "AuthSettingsError",
    "ClientRegistry",
    "ExternalIssuer",
    "IssuedToken",
    "OAuthClient",
    "OAuthError",
    "Principal",
    "Scope",
    "SigningKeyError",
    "SigningKeys",
    "TokenError",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIssuer",
    "client_credentials_grant",
    "generate_client_secret",
    "generate_signing_key_pem",
    "hash_client_secret",
    "verify_client_secret",
]
