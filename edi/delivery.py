"""Delivery policy for responses POSTed to a submitter's callback: where, how often, and what is refused.

A response (271, 999, 277CA, 835 as JSON) goes back to the requester as a Standard Webhooks
callback. Where it goes and how it is signed comes from the submitter's configuration
(``CallbackConfig``), or from the request itself when that submitter may name a callback: then
the URL's host must be on the submitter's allow-list, so nobody can point the pipeline at an
internal address. This module holds those rules as pure functions and the records a delivery
leaves behind, so the pipeline can check a request's callback at intake (and reject it with a
field path) long before anything is sent, and store the outcome of every attempt.

The rules:

* **Allow-list.** A request-named URL's host must match one of ``allowed_hosts`` (exact host
  names or IP literals, or ``*.example.com``, which matches any name *below* ``example.com`` but
  not ``example.com`` itself) or be the host of the submitter's own configured URL. Redirects
  are checked by the same rule hop by hop.
* **Scheme.** ``https`` always; ``http`` only to hosts matching ``http_hosts`` (loopback in
  tests and demos). No user-info in URLs (``https://allowed@evil``), no fragments sent.
* **Addresses.** Every address a name resolves to must be public: private, loopback,
  link-local, multicast, reserved, unspecified, shared (CGNAT) and the other special-purpose
  ranges are refused unless they fall in one of the submitter's ``allowed_networks``. The
  connector resolves once per attempt, checks with ``check_addresses`` and connects to the
  address it checked, so a DNS rebinding cannot switch it between check and connect.
* **Retries.** Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
  and jitter (``Retry-After`` honoured, up to a cap); any other 4xx, and 3xx that cannot be
  followed, fail at once. After ``max_attempts`` the delivery is dead-lettered.
* **Identity.** ``webhook_id_for`` derives the ``webhook-id`` from stable keys of the response,
  so every retry, every replay and even a delivery rebuilt after a crash carries the same id and
  the receiver can de-duplicate.

Nothing here touches the network, and nothing here puts a body, a secret or a URL path into a
``repr`` or an exception text: bodies are PHI, secrets are secrets, and URL paths or queries may
carry either. Refusals name a reason code and at most a host name.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import json
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "Attempt",
    "AttemptError",
    "AttemptOutcome",
    "CallbackConfig",
    "CallbackTarget",
    "Delivery",
    "DeliveryLimits",
    "DeliveryRefused",
    "DeliveryResult",
    "DeliveryState",
    "IPAddress",
    "RefusalReason",
    "ResolvedCallback",
    "DeliveryRetryPolicy",
    "check_addresses",
    "check_callback_url",
    "check_secret",
    "classify_status",
    "host_matches",
    "is_public_address",
    "parse_retry_after",
    "plan_delivery",
    "resolve_callback",
    "webhook_id_for",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SECRET_PREFIX = "whsec_"
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_DEFAULT_PORTS = {"https": 443, "http": 80}


# ------------------------------------------------------------------ refusals


class RefusalReason(StrEnum):
    """Why a callback was refused before (or instead of) any connection. Stable codes for the store."""

    NOT_CONFIGURED = "callback_not_configured"
    REQUEST_CALLBACK_NOT_PERMITTED = "request_callback_not_permitted"
    INVALID_URL = "invalid_url"
    SCHEME_NOT_ALLOWED = "scheme_not_allowed"
    HTTP_NOT_ALLOWED = "http_not_allowed"
    HOST_NOT_ALLOWED = "host_not_allowed"
    ADDRESS_NOT_ALLOWED = "address_not_allowed"
    NO_SECRET = "no_secret"
    INVALID_SECRET = "invalid_secret"


class DeliveryRefused(Exception):
    """A callback the rules do not allow. The text names the reason and at most a host, never a path or secret."""

    def __init__(self, reason: RefusalReason, host: str | None = None) -> None:
        self.reason = reason
        self.host = host
        super().__init__(f"callback refused: {reason.value}" + (f" (host {host})" if host else ""))


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class CallbackConfig:
    """One submitter's callback settings: its default target and secret, and what a request may name.

    ``allowed_hosts`` and ``http_hosts`` hold exact host names (or IP literals) and ``*.suffix``
    wildcards. ``allowed_networks`` holds CIDR blocks (``127.0.0.0/8``, ``10.1.0.0/16``) whose
    non-public addresses this submitter's callbacks may nevertheless reach.
    """

    submitter_id: str
    url: str | None = field(default=None, repr=False)
    secret: str | bytes | None = field(default=None, repr=False)
    allow_request_callback: bool = False
    allowed_hosts: tuple[str, ...] = ()
    http_hosts: tuple[str, ...] = ()
    allowed_networks: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("allowed_hosts", "http_hosts", "allowed_networks"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} must be a sequence of strings, not one string")
            object.__setattr__(self, name, tuple(value))
        for pattern in (*self.allowed_hosts, *self.http_hosts):
            _check_pattern(pattern)
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        except ValueError as exc:
            raise ValueError(f"submitter {self.submitter_id}: invalid entry in allowed_networks") from exc
        object.__setattr__(self, "networks", networks)
        try:
            if self.url is not None:
                check_callback_url(self.url, self, requested=False)
            if self.secret is not None:
                check_secret(self.secret)
        except DeliveryRefused as exc:
            raise ValueError(f"submitter {self.submitter_id}: {exc.reason.value}") from exc

    @classmethod
    def from_mapping(cls, submitter_id: str, data: Mapping[str, Any]) -> CallbackConfig:
        """Build from a configuration file's mapping (keys as the field names, ``callback_url`` also accepted)."""
        known = {"url", "callback_url", "secret", "allow_request_callback", "allowed_hosts", "http_hosts",
                 "allowed_networks"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"submitter {submitter_id}: unknown callback settings {unknown}")
        return cls(
            submitter_id=submitter_id,
            url=data.get("url", data.get("callback_url")),
            secret=data.get("secret"),
            allow_request_callback=bool(data.get("allow_request_callback", False)),
            allowed_hosts=tuple(data.get("allowed_hosts", ())),
            http_hosts=tuple(data.get("http_hosts", ())),
            allowed_networks=tuple(data.get("allowed_networks", ())),
        )

    @property
    def configured_host(self) -> str | None:
        """The host of the submitter's own callback URL, implicitly allowed for redirects and requests."""
        return None if self.url is None else _split(self.url).host

    def host_permitted(self, host: str) -> bool:
        """Whether a request (or a redirect) may name this host."""
        return host == self.configured_host or host_matches(host, self.allowed_hosts)

    def network_allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _check_pattern(pattern: str) -> None:
    body = pattern[2:] if pattern.startswith("*.") else pattern
    if "*" in body or not body:
        raise ValueError("host patterns are exact hosts or '*.suffix' wildcards")
    try:
        _normalise_host(body)
    except DeliveryRefused as exc:
        raise ValueError("host patterns are exact hosts or '*.suffix' wildcards") from exc


@dataclass(frozen=True)
class DeliveryRetryPolicy:
    """How often and how far apart attempts go: exponential backoff with jitter, Retry-After honoured.

    The delay after failed attempt *n* is ``initial_delay * multiplier ** (n - 1)``, capped at
    ``max_delay``, of which a random share of up to ``jitter`` is taken away (so ``jitter=0.5``
    waits between half and all of it). A ``Retry-After`` from the receiver raises the delay to at
    least what it asks, capped at ``max_retry_after``.
    """

    max_attempts: int = 8
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.5
    max_retry_after: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays cannot be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one."""
        try:
            base = min(self.max_delay, self.initial_delay * self.multiplier ** max(attempt - 1, 0))
        except OverflowError:
            base = self.max_delay
        wait = base * (1 - self.jitter * rng.random())
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


@dataclass(frozen=True)
class DeliveryLimits:
    """Bounds on one attempt: timeouts in seconds, response bytes read, redirects followed."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_response_bytes: int = 64 * 1024
    max_redirects: int = 3

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_response_bytes < 0 or self.max_redirects < 0:
            raise ValueError("limits cannot be negative")


# ------------------------------------------------------------------ URL and address rules


@dataclass(frozen=True)
class CallbackTarget:
    """A callback URL that passed the static rules, split into what the connector needs."""

    scheme: Literal["https", "http"]
    host: str
    port: int
    path: str = field(repr=False)
    source: Literal["config", "request"]

    @property
    def is_ip_literal(self) -> bool:
        return _ip_literal(self.host) is not None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path}"


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` matches an exact entry or a ``*.suffix`` wildcard (any depth below the suffix).

    Wildcards never match IP literals, and ``*.example.com`` does not match ``example.com``.
    """
    host = host.lower().rstrip(".")
    literal = _ip_literal(host) is not None
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if not literal and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif _same_host(host, pattern):
            return True
    return False


def _same_host(host: str, pattern: str) -> bool:
    a, b = _ip_literal(host), _ip_literal(pattern)
    if a is not None or b is not None:
        return a is not None and a == b
    return host == pattern


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _normalise_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not host or "%" in host:
        raise DeliveryRefused(RefusalReason.INVALID_URL)
    literal = _ip_literal(host)
    if literal is not None:
        return str(literal)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DeliveryRefused(RefusalReason.INVALID_URL) from exc
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise DeliveryRefused(RefusalReason.INVALID_URL)
    return ascii_host


@dataclass(frozen=True)
class _Split:
    scheme: str
    host: str
    port: int
    path: str


def _split(url: str) -> _Split:
    if not isinstance(url, str) or any(c in url for c in "\r\n\t\\ ") or not url.isascii():
        raise DeliveryRefused(RefusalReason.INVALID_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DeliveryRefused(RefusalReason.INVALID_URL) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise DeliveryRefused(RefusalReason.SCHEME_NOT_ALLOWED)
    if "@" in parts.netloc or not parts.hostname:
        raise DeliveryRefused(RefusalReason.INVALID_URL)
    host = _normalise_host(parts.hostname)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Split(scheme, host, port if port is not None else _DEFAULT_PORTS[scheme], path)


def check_callback_url(url: str, config: CallbackConfig, *, requested: bool) -> CallbackTarget:
    """Apply the static rules (syntax, scheme, allow-list) to a callback URL; raise ``DeliveryRefused``.

    ``requested`` is true for a URL named by a request or a redirect (its host must be
    permitted); false for the submitter's configured URL, which is trusted for its host but
    still bound by the scheme rule and, at connect time, by the address rule.
    """
    return _checked_url(url, config, requested)


@functools.lru_cache(maxsize=1024)
def _checked_url(url: str, config: CallbackConfig, requested: bool) -> CallbackTarget:
    """The rules depend on nothing but the URL and the (frozen) configuration, and every callback
    of a submitter checks the same URL: remembered, they cost a dictionary look-up instead of a
    URL parse and several IP address parses per POST. Refusals raise and are not remembered."""
    split = _split(url)
    if requested and not config.host_permitted(split.host):
        raise DeliveryRefused(RefusalReason.HOST_NOT_ALLOWED, split.host)
    if split.scheme == "http" and not host_matches(split.host, config.http_hosts):
        raise DeliveryRefused(RefusalReason.HTTP_NOT_ALLOWED, split.host)
    scheme: Literal["https", "http"] = "https" if split.scheme == "https" else "http"
    return CallbackTarget(scheme, split.host, split.port, split.path, "request" if requested else "config")


def is_public_address(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast, reserved, unspecified or shared."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local
        or address.is_private or address.is_unspecified
    )


def check_addresses(host: str, addresses: Sequence[IPAddress], config: CallbackConfig) -> tuple[IPAddress, ...]:
    """Every address a host resolved to must be public or inside one of the submitter's allowed networks.

    One bad address refuses them all (a name answering both public and internal addresses is
    not to be trusted with either). Returns the addresses in resolver order, for the connector
    to connect to the first one it can.
    """
    return _checked_addresses(host, tuple(addresses), config)


@functools.lru_cache(maxsize=1024)
def _checked_addresses(host: str, addresses: tuple[IPAddress, ...], config: CallbackConfig,
                       ) -> tuple[IPAddress, ...]:
    """The verdict depends on nothing but the resolver's answer and the (frozen) configuration,
    and every callback to a host gets the same answer: remembered, keyed by that answer itself
    (never by the host name alone), it costs a dictionary look-up instead of several address
    property tests per POST. A name that starts resolving to something else is a new key and is
    checked anew, so a DNS rebinding to an internal address is refused as before. Refusals
    raise and are not remembered."""
    if not addresses:
        raise DeliveryRefused(RefusalReason.ADDRESS_NOT_ALLOWED, host)
    checked: list[IPAddress] = []
    for address in addresses:
        plain = address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            plain = address.ipv4_mapped
        if not (is_public_address(plain) or config.network_allowed(plain) or config.network_allowed(address)):
            raise DeliveryRefused(RefusalReason.ADDRESS_NOT_ALLOWED, host)
        if plain not in checked:
            checked.append(plain)
    return tuple(checked)


def check_secret(secret: str | bytes) -> bytes:
    """The signing key: raw bytes as given, or a ``whsec_``-prefixed (or bare) base64 string decoded.

    Follows the Standard Webhooks convention the ``standardwebhooks`` library reads, but
    strictly: a string that is not valid base64 is refused rather than silently shortened.
    """
    return _signing_key(secret)


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str | bytes) -> bytes:
    """Every callback of a submitter is signed with the same few secrets (two while one is being
    rotated): decoded once each, not once or twice per POST. Keyed by the secret itself, so a
    rotated secret is a new entry and is decoded anew; refusals raise and are not remembered."""
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret.removeprefix(_SECRET_PREFIX)
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeliveryRefused(RefusalReason.INVALID_SECRET) from exc
    if not key:
        raise DeliveryRefused(RefusalReason.INVALID_SECRET)
    return key


# ------------------------------------------------------------------ deliveries


def webhook_id_for(*keys: str) -> str:
    """A stable ``webhook-id`` for one response, from keys that identify it (transaction id, kind, number).

    The same keys always give the same id, so a delivery rebuilt after a crash still carries
    the id its first attempt had. The keys are hashed: they never appear in the id.
    """
    if not keys or not all(keys):
        raise ValueError("webhook_id_for needs at least one non-empty key")
    digest = hashlib.sha256("\x1f".join(keys).encode("utf-8")).digest()
    return "msg_" + base64.b32encode(digest[:20]).decode("ascii").lower().rstrip("=")


@dataclass(frozen=True)
class Delivery:
    """One response to deliver: what the store keeps so the delivery can be retried or replayed.

    ``callback_url`` and ``secret`` are set only when the request named them; otherwise the
    submitter's configuration supplies them at send time (so a replay uses the current
    configuration, after a secret rotation or a moved receiver). ``body`` is the exact JSON
    bytes signed and sent; it and the secret are PHI or secret and kept out of ``repr``, so the
    store should keep them encrypted with the other payloads.
    """

    webhook_id: str
    submitter_id: str
    body: bytes = field(repr=False)
    callback_url: str | None = field(default=None, repr=False)
    secret: str | bytes | None = field(default=None, repr=False)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.webhook_id or any(c in self.webhook_id for c in " ,\r\n"):
            raise ValueError("webhook_id must be a non-empty token")
        if not isinstance(self.body, bytes):
            raise TypeError("delivery body must be bytes (use plan_delivery for a mapping or a string)")
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("delivery body must be UTF-8 JSON") from exc


@dataclass(frozen=True)
class ResolvedCallback:
    """Where a delivery goes now and the key it is signed with."""

    target: CallbackTarget
    secret: str | bytes = field(repr=False)


def resolve_callback(delivery: Delivery, config: CallbackConfig) -> ResolvedCallback:
    """The target and secret for a delivery under the submitter's current configuration, or ``DeliveryRefused``."""
    if config.submitter_id != delivery.submitter_id:
        raise ValueError("callback configuration belongs to another submitter")
    named = delivery.callback_url is not None or delivery.secret is not None
    if named and not config.allow_request_callback:
        raise DeliveryRefused(RefusalReason.REQUEST_CALLBACK_NOT_PERMITTED)
    if delivery.callback_url is not None:
        target = check_callback_url(delivery.callback_url, config, requested=True)
    elif config.url is not None:
        target = check_callback_url(config.url, config, requested=False)
    else:
        raise DeliveryRefused(RefusalReason.NOT_CONFIGURED)
    secret = delivery.secret if delivery.secret is not None else config.secret
    if secret is None:
        raise DeliveryRefused(RefusalReason.NO_SECRET)
    check_secret(secret)
    return ResolvedCallback(target, secret)


def plan_delivery(
    config: CallbackConfig,
    body: bytes | str | Mapping[str, Any],
    *,
    webhook_id: str,
    callback_url: str | None = None,
    secret: str | bytes | None = None,
) -> Delivery:
    """Make a ``Delivery`` and check its callback now; ``DeliveryRefused`` lets intake reject the request early."""
    if isinstance(body, Mapping):
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = bytes(body)
    delivery = Delivery(webhook_id, config.submitter_id, data, callback_url, secret)
    resolve_callback(delivery, config)
    return delivery


# ------------------------------------------------------------------ attempts and results


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    REFUSED = "refused"


class AttemptError(StrEnum):
    """What went wrong in an attempt, as a code: exception texts are never kept (they may hold URLs)."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    NETWORK = "network"
    DNS = "dns"
    STATUS = "status"
    REDIRECT = "redirect"
    REFUSED = "refused"


@dataclass(frozen=True)
class Attempt:
    """One POST (with any redirects it followed): what happened, for the transaction's history."""

    number: int
    webhook_id: str
    started_at: datetime
    elapsed: float
    outcome: AttemptOutcome
    status: int | None = None
    error: AttemptError | None = None
    refusal: RefusalReason | None = None
    retry_after: float | None = None
    host: str | None = None
    address: str | None = None
    redirects: int = 0
    response_bytes: int = 0
    truncated: bool = False


class DeliveryState(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    REFUSED = "refused"


@dataclass(frozen=True)
class DeliveryResult:
    """The end of one delivery run (first delivery or replay): the pipeline stores it.

    ``FAILED``: the receiver answered with a status that retrying will not change (a 4xx other
    than 408/429, a redirect that may not be followed). ``DEAD_LETTERED``: every attempt hit a
    retryable error. ``REFUSED``: the rules forbade the callback, nothing was sent.
    """

    delivery: Delivery
    state: DeliveryState
    attempts: tuple[Attempt, ...]
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    refusal: RefusalReason | None = None

    @property
    def delivered(self) -> bool:
        return self.state is DeliveryState.DELIVERED

    @property
    def webhook_id(self) -> str:
        return self.delivery.webhook_id

    @property
    def last_status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None


def classify_status(status: int) -> AttemptOutcome:
    """2xx delivered; 408, 429 and 5xx worth retrying; anything else (other 4xx, 1xx, 3xx) failed."""
    if 200 <= status < 300:
        return AttemptOutcome.DELIVERED
    if status in (408, 429) or 500 <= status < 600:
        return AttemptOutcome.RETRY
    return AttemptOutcome.FAILED


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
