"""Token settings from the environment, like the rest of the pipeline (``edi.settings``).

=====================================  ==============================================================
``EDI_AUTH_ISSUER``                    this pipeline's issuer URL (``iss`` of the tokens it signs)
``EDI_AUTH_AUDIENCE``                  the API's audience (``aud`` every accepted token must name)
``EDI_AUTH_TOKEN_LIFETIME``            seconds a token issued here is valid (900)
``EDI_AUTH_SIGNING_KEYS[_FILE]``       the signing keys (see ``edi.auth.signing``); without them
                                       the pipeline issues no tokens and trusts only the external
                                       issuer
``EDI_AUTH_EXTERNAL_ISSUER``           an external authorisation server whose tokens are accepted
``EDI_AUTH_EXTERNAL_JWKS_URL``         where that server publishes its keys (required with it)
``EDI_AUTH_EXTERNAL_AUDIENCE``         the audience it puts in tokens for us (default: ours)
``EDI_AUTH_EXTERNAL_SUBJECT_CLAIM``    the claim naming the submitter in its tokens (``sub``)
=====================================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from edi.auth.signing import ENV_SIGNING_KEYS, ENV_SIGNING_KEYS_FILE, SigningKeys
from edi.auth.tokens import DEFAULT_LIFETIME_SECONDS

__all__ = ["AuthSettings", "AuthSettingsError", "ExternalIssuer"]


class AuthSettingsError(ValueError):
    """The token settings are incomplete or contradictory (the message names the variable)."""


@dataclass(frozen=True, slots=True)
class ExternalIssuer:
    issuer: str
    jwks_url: str
    audience: str
    subject_claim: str = "sub"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    issuer: str | None
    audience: str
    lifetime_seconds: int
    signing_keys: SigningKeys | None
    external: ExternalIssuer | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if environ is None else environ
        audience = env.get("EDI_AUTH_AUDIENCE")
        if not audience:
            raise AuthSettingsError("set EDI_AUTH_AUDIENCE: the audience tokens for this API must name")
        keys = SigningKeys.from_env(env) if env.get(ENV_SIGNING_KEYS) or env.get(ENV_SIGNING_KEYS_FILE) else None
        issuer = env.get("EDI_AUTH_ISSUER") or None
        if keys is not None and issuer is None:
            raise AuthSettingsError("set EDI_AUTH_ISSUER: the issuer URL of the tokens this pipeline signs")
        lifetime_text = env.get("EDI_AUTH_TOKEN_LIFETIME") or str(DEFAULT_LIFETIME_SECONDS)
        if not lifetime_text.isdigit() or int(lifetime_text) <= 0:
            raise AuthSettingsError("EDI_AUTH_TOKEN_LIFETIME must be a positive number of seconds")
        external = None
        if env.get("EDI_AUTH_EXTERNAL_ISSUER"):
            jwks_url = env.get("EDI_AUTH_EXTERNAL_JWKS_URL")
            if not jwks_url or not jwks_url.startswith(("https://", "http://")):
                raise AuthSettingsError("EDI_AUTH_EXTERNAL_ISSUER needs EDI_AUTH_EXTERNAL_JWKS_URL (an http(s) URL)")
            external = ExternalIssuer(
                env["EDI_AUTH_EXTERNAL_ISSUER"], jwks_url, env.get("EDI_AUTH_EXTERNAL_AUDIENCE") or audience,
                env.get("EDI_AUTH_EXTERNAL_SUBJECT_CLAIM") or "sub",
            )
        if keys is None and external is None:
            raise AuthSettingsError(
                f"no token issuer: set {ENV_SIGNING_KEYS}[_FILE] with EDI_AUTH_ISSUER, or EDI_AUTH_EXTERNAL_ISSUER"
            )
        return cls(issuer, audience, int(lifetime_text), keys, external)
