"""OAuth2 over HTTP: the token endpoint, the JWKS, and the ``require_scope`` route dependency.

The decisions live in ``edi.auth`` (pure); this module is the HTTP side of them:

* ``POST /oauth/token``: the client credentials grant, form-encoded, client authenticated by
  HTTP Basic or form fields; answers and errors in the RFC 6749 JSON format (not problem+json:
  OAuth clients parse ``error``), never cached.
* ``GET /.well-known/jwks.json``: the public signing keys, so other services (and our own
  processes) can verify tokens without a shared secret.
* ``require_scope("claims:write")``: a dependency that verifies the bearer token and returns the
  `Principal` (the submitter). 401 for a missing or unacceptable token, 403 for a valid token
  without the scope; both as problem+json with a ``WWW-Authenticate: Bearer`` challenge (RFC
  6750 section 3), whose ``error_description`` says what is wrong, never what the token holds.

External issuers' keys come from their JWKS URL through PyJWT's ``PyJWKClient``, which caches
the key set (refetched after ``lifespan`` seconds, or at once when a token names an unknown kid,
at most once per cooldown), so verification costs no network round trip in the common case.
Dependencies are plain functions: FastAPI runs them in its thread pool, where that occasional
blocking fetch does not stall the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

import jwt
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from connectors.api.problems import ProblemError, problem_response
from connectors.api.throttle import FailureThrottle
from edi.auth import (
    AuthSettings,
    ClientRegistry,
    OAuthError,
    Principal,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    TrustedIssuer,
    client_credentials_grant,
)
from edi.auth.grant import basic_credentials
from edi.auth.tokens import KeyResolver

__all__ = [
    "IssuerUnavailableError",
    "api_auth_options",
    "build_issuer",
    "build_verifier",
    "install_auth",
    "jwks_key_resolver",
    "require_scope",
    "token_router",
]

REALM = "edi"
STATE_VERIFIER = "edi_token_verifier"
MAX_FORM_BYTES = 8192
JWKS_LIFESPAN_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class IssuerUnavailableError(Exception):
    """An external issuer's JWKS could not be fetched (a server-side problem, not the client's)."""


def jwks_key_resolver(url: str, *, lifespan: float = JWKS_LIFESPAN_SECONDS,
                      timeout: float = JWKS_TIMEOUT_SECONDS) -> KeyResolver:
    """Resolve keys from an issuer's JWKS URL (cached, see the module docstring)."""
    client = jwt.PyJWKClient(url, cache_keys=True, cache_jwk_set=True, lifespan=lifespan, timeout=timeout)

    def resolve(kid: str | None, token: str) -> tuple[Any, str]:
        if kid is None:
            raise TokenError("unknown-key", "the access token names no key (kid)")
        try:
            key = client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise IssuerUnavailableError("the token issuer's key set cannot be fetched") from None
        except (jwt.PyJWKClientError, jwt.InvalidKeyError):
            raise TokenError("unknown-key", "the token is signed with a key its issuer does not publish") from None
        return key.key, key.algorithm_name

    return resolve


def build_issuer(settings: AuthSettings) -> TokenIssuer | None:
    """The pipeline's own token issuer, when signing keys are configured."""
    if settings.signing_keys is None or settings.issuer is None:
        return None
    return TokenIssuer(settings.signing_keys, issuer=settings.issuer, audience=settings.audience,
                       lifetime_seconds=settings.lifetime_seconds)


def build_verifier(settings: AuthSettings, issuer: TokenIssuer | None = None) -> TokenVerifier:
    """A verifier trusting our own issuer and the configured external one."""
    trusted: list[TrustedIssuer] = []
    own = issuer or build_issuer(settings)
    if own is not None:
        trusted.append(own.trusted())
    if settings.external is not None:
        ext = settings.external
        trusted.append(TrustedIssuer(ext.issuer, ext.audience, jwks_key_resolver(ext.jwks_url),
                                     subject_claim=ext.subject_claim, require_jti=False))
    return TokenVerifier(trusted)


def api_auth_options(clients_by_submitter: Mapping[str, Iterable[Any]],
                     environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``create_app`` options for OAuth2 from ``EDI_AUTH_*`` (``edi.auth.settings``); none, and the
    API takes API keys only, when ``EDI_AUTH_AUDIENCE`` is not set."""
    env = os.environ if environ is None else environ
    if not env.get("EDI_AUTH_AUDIENCE"):
        return {}
    settings = AuthSettings.from_env(env)
    issuer = build_issuer(settings)
    return {"verifier": build_verifier(settings, issuer), "token_issuer": issuer,
            "oauth_clients": ClientRegistry.from_submitters(clients_by_submitter)}


def _oauth_error(error: OAuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error.challenge:
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _form(body: bytes, content_type: str) -> dict[str, str]:
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the token request as application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "the token request is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the token request body is not valid form encoding") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 section 3.2: parameters must not repeat
            raise OAuthError("invalid_request", f"the parameter {name!r} is repeated")
        form[name] = value
    return form


def _claimed_client(form: Mapping[str, str], authorization: str | None) -> str | None:
    """The client id a token request names (for throttling only: nothing is authenticated yet)."""
    try:
        basic = basic_credentials(authorization)
    except OAuthError:
        basic = None
    client_id = basic[0] if basic is not None else form.get("client_id")
    return client_id[:128] if client_id else None


def token_router(issuer: TokenIssuer, clients: ClientRegistry, throttle: FailureThrottle | None = None) -> APIRouter:
    """``POST /oauth/token`` and ``GET /.well-known/jwks.json`` of our own issuer; failed client
    logins are throttled per client id and per address (``connectors.api.throttle``)."""
    router = APIRouter(tags=["oauth"])
    jwks = issuer.keys.jwks()
    limiter = throttle or FailureThrottle()

    @router.post("/oauth/token", summary="Client credentials grant (RFC 6749 section 4.4)")
    async def token(request: Request) -> JSONResponse:
        body = await request.body()
        address = f"addr:{request.client.host}" if request.client else None
        client = None
        try:
            form = _form(body, request.headers.get("content-type", ""))
            claimed = _claimed_client(form, request.headers.get("authorization"))
            client = f"client:{claimed}" if claimed else None
            wait = limiter.retry_after(client, address)
            if wait is not None:
                return problem_response(
                    429, "too-many-failed-logins",
                    f"too many failed client authentications; try again in {wait} seconds",
                    title="Too many requests", headers={"Retry-After": str(wait), **_NO_STORE})
            # scrypt takes ~0.1 s of CPU: off the event loop
            issued = await run_in_threadpool(
                client_credentials_grant, form, request.headers.get("authorization"), clients, issuer
            )
        except OAuthError as error:
            if error.error == "invalid_client":
                limiter.failed(client, address)
            return _oauth_error(error)
        document = {"access_token": issued.access_token, "token_type": issued.token_type,
                    "expires_in": issued.expires_in, "scope": issued.scope}
        return JSONResponse(document, headers=_NO_STORE)

    @router.get("/.well-known/jwks.json", summary="Public keys of the tokens this pipeline signs")
    def keys() -> JSONResponse:
        return JSONResponse(jwks, headers={"Cache-Control": f"public, max-age={JWKS_LIFESPAN_SECONDS}"})

    return router


async def _problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return error.response()


def install_auth(app: FastAPI, verifier: TokenVerifier, *, issuer: TokenIssuer | None = None,
                 clients: ClientRegistry | None = None, throttle: FailureThrottle | None = None) -> None:
    """Make ``require_scope`` work on ``app`` and, with an issuer, serve the token endpoint and JWKS
    (``throttle``: failed logins, default ``FailureThrottle()``)."""
    setattr(app.state, STATE_VERIFIER, verifier)
    if ProblemError not in app.exception_handlers:
        app.add_exception_handler(ProblemError, _problem)
    if issuer is not None:
        app.include_router(token_router(issuer, clients or ClientRegistry(), throttle))


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token (POST /oauth/token)")


def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency giving the authenticated submitter of a token carrying ``scope``."""

    def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        verifier: TokenVerifier | None = getattr(request.app.state, STATE_VERIFIER, None)
        if verifier is None:
            raise RuntimeError("install_auth(app, verifier) was not called")
        if credentials is None:
            raise ProblemError(401, "unauthenticated", "send an access token in Authorization: Bearer",
                               headers={"WWW-Authenticate": _challenge()})
        try:
            principal = verifier.verify(credentials.credentials)
        except TokenError as error:
            raise ProblemError(
                401, "invalid-token", error.message,
                headers={"WWW-Authenticate": _challenge("invalid_token", error.message)},
            ) from None
        except IssuerUnavailableError:
            raise ProblemError(503, "issuer-unavailable", "the token issuer cannot be reached; try again later",
                               title="Service unavailable", headers={"Retry-After": "30"}) from None
        if not principal.has(scope):
            raise ProblemError(
                403, "insufficient-scope", f"the access token lacks the {scope!r} scope", title="Forbidden",
                headers={"WWW-Authenticate": _challenge("insufficient_scope", None, scope)},
            )
        return principal

    return dependency
