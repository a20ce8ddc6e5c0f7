"""The OAuth 2.0 client credentials grant (RFC 6749 section 4.4), free of any web framework.

The HTTP adapter hands over the form fields and the HTTP Basic credentials; this module decides
and answers either a token or an RFC 6749 section 5.2 error (``error`` code, description, HTTP
status, and whether a ``WWW-Authenticate: Basic`` challenge is due). Keeping the decisions here
makes every refusal testable without a server and keeps the adapter thin.

Rules: only ``grant_type=client_credentials``; the client authenticates by exactly one method
(Basic, or ``client_id``/``client_secret`` form fields); a requested ``scope`` must be a subset
of the client's allowed scopes (omitted: all of them, RFC 6749 section 3.3).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from edi.auth.clients import ClientRegistry
from edi.auth.scopes import Scope, parse_scopes
from edi.auth.tokens import IssuedToken, TokenIssuer

__all__ = ["OAuthError", "basic_credentials", "client_credentials_grant"]

KNOWN_SCOPES = frozenset(s.value for s in Scope)


@dataclass(frozen=True, slots=True)
class OAuthError(Exception):
    """An RFC 6749 error response."""

    error: str  # invalid_request, invalid_client, unsupported_grant_type, invalid_scope, ...
    description: str
    status: int = 400
    challenge: bool = False  # answer WWW-Authenticate: Basic (client authentication failed)

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def basic_credentials(authorization: str | None) -> tuple[str, str, str] | None:
    """Client id, secret as sent and secret form-decoded, from ``Authorization: Basic``; None
    when the header is not Basic.

    RFC 6749 section 2.3.1 has clients form-urlencode both before base64, but many HTTP clients
    send them raw; a secret holding ``+`` or ``%`` is therefore tried both ways."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401, True) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401, True)
    return unquote_plus(client_id), secret, unquote_plus(secret)


def client_credentials_grant(
    form: Mapping[str, str],
    authorization: str | None,
    clients: ClientRegistry,
    issuer: TokenIssuer,
) -> IssuedToken:
    """Issue a token for an authenticated client, or raise `OAuthError`."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only grant_type=client_credentials is supported")
    basic = basic_credentials(authorization)
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and (form_secret is not None or (form_id is not None and form_id != basic[0])):
        raise OAuthError("invalid_request", "authenticate the client by one method only (HTTP Basic or form fields)")
    if basic is not None:
        client_id, candidates = basic[0], dict.fromkeys(basic[1:])
    elif form_id and form_secret:
        client_id, candidates = form_id, {form_secret: None}
    else:
        raise OAuthError("invalid_client", "client authentication is required (HTTP Basic or form fields)", 401, True)
    client = next(filter(None, (clients.authenticate(client_id, secret) for secret in candidates)), None)
    if client is None:
        raise OAuthError("invalid_client", "client authentication failed", 401, True)
    requested = parse_scopes(form.get("scope"))
    unknown = requested - KNOWN_SCOPES
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope(s): {', '.join(sorted(unknown))}")
    if not requested <= client.scopes:
        raise OAuthError("invalid_scope", "the client may not be granted: " + ", ".join(sorted(requested - client.scopes)))
    return issuer.issue(client.submitter_id, requested or client.scopes, client_id=client.client_id)
