"""Access tokens: signed JWTs the pipeline issues, and the verification of any bearer token.

Tokens follow RFC 9068 (JWT profile for OAuth 2.0 access tokens): header ``typ: at+jwt`` and
``kid``; claims ``iss``, ``aud``, ``sub`` (the submitter id), ``client_id``, ``scope``, ``iat``,
``exp``, ``jti``. A short lifetime (15 minutes by default) bounds what a leaked token is worth
without a revocation list; clients ask for a new one when it runs out.

Verification trusts a fixed list of issuers, each with its own audience and its own source of
keys (the pipeline's signing keys, or an external authorisation server's JWKS through a resolver
the adapter layer provides). The issuer is read from the unverified token only to choose which
keys and audience to check it against; the signature, ``iss`` and ``aud`` are then all verified.
Attacks refused by construction:

* ``alg: none`` and HMAC algorithms: only ES256 and RS256 are ever accepted, and the algorithm is
  the one of the key the issuer publishes, not the one the token's header claims, so a token
  signed with HS256 using the public key as the secret ("algorithm confusion") cannot verify.
* forged or foreign tokens: the key comes from the trusted issuer by ``kid``; an unknown ``kid``
  or any other key fails the signature check.
* replay elsewhere: ``aud`` must name this API; tokens for other services are refused.
* other kinds of JWT from our own issuer: its tokens must say ``typ: at+jwt``.

Error messages say what is wrong with the token, never what it contains.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from edi.auth.scopes import format_scopes, parse_scopes
from edi.auth.signing import SigningKeys

__all__ = [
    "ACCEPTED_ALGORITHMS",
    "DEFAULT_LIFETIME_SECONDS",
    "IssuedToken",
    "KeyResolver",
    "Principal",
    "TokenError",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIssuer",
    "own_key_resolver",
]

ACCEPTED_ALGORITHMS = ("ES256", "RS256")
DEFAULT_LIFETIME_SECONDS = 900
LEEWAY_SECONDS = 30  # clock skew between us and an external issuer
TOKEN_TYPE = "at+jwt"


class TokenError(Exception):
    """A bearer token is missing or not acceptable; ``reason`` is a stable code, the message
    an explanation safe to return to the client."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    submitter_id: str
    scopes: frozenset[str]
    issuer: str
    client_id: str | None
    token_id: str | None
    expires_at: int

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


# A resolver maps the token's ``kid`` (None when absent) and the raw token to the verification
# key and its algorithm, or raises TokenError("unknown-key", ...).
KeyResolver = Callable[[str | None, str], tuple[Any, str]]


def own_key_resolver(keys: SigningKeys) -> KeyResolver:
    """Resolve the pipeline's own tokens by ``kid`` among its signing keys (public halves)."""

    def resolve(kid: str | None, _token: str) -> tuple[Any, str]:
        key = keys.keys.get(kid or "")
        if key is None:
            raise TokenError("unknown-key", "the token is signed with a key this issuer does not have")
        return key.public_key, key.algorithm

    return resolve


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An issuer whose tokens this API accepts, for which audience, with which keys."""

    issuer: str
    audience: str
    resolve_key: KeyResolver
    subject_claim: str = "sub"
    require_jti: bool = True
    token_type: str | None = None  # the ``typ`` header required (RFC 9068: at+jwt), None: any


class TokenIssuer:
    """Signs access tokens with the current signing key."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        audience: str,
        lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lifetime_seconds <= 0:
            raise ValueError("the token lifetime must be positive")
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.lifetime_seconds, self._clock = lifetime_seconds, clock

    def trusted(self) -> TrustedIssuer:
        """This issuer as a verifier should trust it."""
        return TrustedIssuer(self.issuer, self.audience, own_key_resolver(self.keys), token_type=TOKEN_TYPE)

    def issue(self, submitter_id: str, scopes: Iterable[str], *, client_id: str | None = None) -> IssuedToken:
        now = int(self._clock())
        scope = format_scopes(scopes)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": submitter_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        if client_id is not None:
            claims["client_id"] = client_id
        key = self.keys.current_key
        token = jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": TOKEN_TYPE})
        return IssuedToken(token, self.lifetime_seconds, scope)


class TokenVerifier:
    """Verifies bearer tokens from a fixed set of trusted issuers."""

    def __init__(self, issuers: Sequence[TrustedIssuer], *, leeway_seconds: int = LEEWAY_SECONDS) -> None:
        if not issuers:
            raise ValueError("a verifier needs at least one trusted issuer")
        self._issuers = {i.issuer: i for i in issuers}
        self._leeway = leeway_seconds

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise TokenError("missing", "send an access token in Authorization: Bearer")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenError("malformed", "the access token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise TokenError("bad-algorithm", f"tokens must be signed with one of {', '.join(ACCEPTED_ALGORITHMS)}")
        trusted = self._issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if trusted is None:
            raise TokenError("wrong-issuer", "the token is not from an issuer this API trusts")
        if trusted.token_type is not None and str(header.get("typ", "")).lower() not in (
            trusted.token_type, f"application/{trusted.token_type}"
        ):
            raise TokenError("wrong-type", f"the token is not an access token (typ {trusted.token_type})")
        kid = header.get("kid")
        key, key_algorithm = trusted.resolve_key(kid if isinstance(kid, str) else None, token)
        if key_algorithm not in ACCEPTED_ALGORITHMS or key_algorithm != algorithm:
            raise TokenError("bad-algorithm", "the token's algorithm does not match its issuer's key")
        required = ["exp", "iat", "iss", "aud", trusted.subject_claim] + (["jti"] if trusted.require_jti else [])
        try:
            claims = jwt.decode(
                token, key, algorithms=[key_algorithm], audience=trusted.audience, issuer=trusted.issuer,
                leeway=self._leeway, options={"require": required},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("expired", "the access token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("not-yet-valid", "the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenError("wrong-audience", "the access token is not meant for this API") from None
        except jwt.InvalidIssuerError:
            raise TokenError("wrong-issuer", "the token is not from an issuer this API trusts") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenError("missing-claim", f"the access token lacks the {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenError("bad-signature", "the access token's signature does not verify") from None
        except jwt.PyJWTError:
            raise TokenError("invalid", "the access token is not valid") from None
        subject = claims.get(trusted.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise TokenError("missing-claim", f"the access token's {trusted.subject_claim!r} claim is empty")
        raw_scopes = claims.get("scope") if "scope" in claims else claims.get("scp")
        if raw_scopes is not None and not isinstance(raw_scopes, str | list):
            raise TokenError("invalid", "the access token's scope claim is neither a string nor a list")
        scopes = parse_scopes(raw_scopes)
        return Principal(
            submitter_id=subject,
            scopes=scopes,
            issuer=trusted.issuer,
            client_id=claims.get("client_id") if isinstance(claims.get("client_id"), str) else None,
            token_id=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
            expires_at=int(claims["exp"]),
        )
