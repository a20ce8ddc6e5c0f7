"""Standard Webhooks sender: sign a response, POST it to the callback pinned to a checked address, retry.

The rules (allow-list, https, which addresses, backoff, what is retryable) live in
``edi.delivery``; this module is the network half. Per attempt it resolves the callback host
once (the default resolver keeps answers ``DNS_CACHE_SECONDS``), checks every address with ``edi.delivery.check_addresses`` and connects to the address it
checked (the URL carries the IP; the ``Host`` header and TLS SNI carry the name, and the
certificate is verified against the name), so a DNS rebinding between check and connect
cannot reach an internal address. Signing follows Standard Webhooks (and is tested against the
``standardwebhooks`` library): ``webhook-id``
(the delivery's, the same on every retry and replay), ``webhook-timestamp`` (unix seconds of
the attempt) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``).

Redirects are followed only for 307/308 (which keep the POST and its body), hop by hop through
the same allow-list and address checks, at most ``DeliveryLimits.max_redirects`` times; any
other 3xx fails the delivery. Proxies from the environment are ignored (``trust_env=False``):
a proxy would resolve the name itself and undo the pinning. Cookies a receiver sets are
dropped, never sent back. At most ``DeliveryLimits.max_response_bytes`` of a response are read
(raw, never decompressed) and then dropped: response bodies are never logged or stored. This
module logs the webhook-id, submitter, host, attempt number, outcome and status, nothing else.

The transport is aiohttp: the delivery stage POSTs three callbacks per claim, and httpx spent
several times aiohttp's CPU on each (its connection pool checks every pooled connection on
every request; see ``benchmarks/README.md``, "Pipeline benchmark").

``WebhookSender`` is asynchronous, so the total timeout can cancel an attempt at any point
(DNS, connect, a slowly dripping response); ``deliver`` and ``replay`` are blocking wrappers
for synchronous callers such as queue consumers.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import inspect
import ipaddress
import logging
import random
import secrets
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, TypeVar
from urllib.parse import urljoin

import aiohttp
import httpx
from yarl import URL

from edi.delivery import (
    Attempt,
    AttemptError,
    AttemptOutcome,
    CallbackConfig,
    CallbackTarget,
    Delivery,
    DeliveryLimits,
    DeliveryRefused,
    DeliveryResult,
    DeliveryRetryPolicy,
    DeliveryState,
    IPAddress,
    RefusalReason,
    ResolvedCallback,
    check_addresses,
    check_callback_url,
    check_secret,
    classify_status,
    parse_retry_after,
    resolve_callback,
)

__all__ = [
    "USER_AGENT",
    "AttemptHook",
    "CachingResolver",
    "DeadLetterSink",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "WebhookSender",
    "deliver",
    "new_secret",
    "replay",
    "sign_headers",
]

_log = logging.getLogger(__name__)
# Connections per callback host, all kept alive: the delivery stage sends a group's callbacks
# concurrently, up to this many in flight (reconnecting for each would cost more than the POST).
MAX_CONNECTIONS = 16
# Seconds an idle connection is kept for the next callback: below the 5 s after which common
# servers (uvicorn, Node) close idle keep-alive connections, so a POST rarely goes out on a
# connection the receiver is closing at that moment.
KEEPALIVE_SECONDS = 4.0

# Seconds a resolver answer is kept for the next callbacks to the same host (aiohttp's own DNS
# cache default): getaddrinfo runs in a thread of the executor, several times a POST's CPU.
DNS_CACHE_SECONDS = 10.0

USER_AGENT = "edi-engine-webhooks/1"

_T = TypeVar("_T")

DeadLetterSink = Callable[[DeliveryResult], None | Awaitable[None]]
"""Called with every result that did not deliver (failed, dead-lettered or refused); may be async."""

AttemptHook = Callable[[Attempt], None | Awaitable[None]]
"""Called after every attempt, e.g. to append it to the transaction's history; may be async."""


# ------------------------------------------------------------------ signing


def sign_headers(secret: str | bytes, webhook_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt.

    The signature is the spec's (what ``standardwebhooks.Webhook.sign`` computes; the tests
    check the two agree): ``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body`` with the
    decoded secret. Computed here with one ``hmac.digest`` call on a key decoded once per secret
    (``check_secret`` remembers it), instead of the library's per-call secret decoding, datetime
    conversion and body decode/re-encode: the library's way cost about a third of a POST's
    signing and header work.
    """
    key = check_secret(secret)
    stamp = str(timestamp)
    mac = hmac.digest(key, b"%s.%s.%s" % (webhook_id.encode(), stamp.encode(), body), "sha256")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode("ascii"),
        "content-type": "application/json",
    }


def new_secret(nbytes: int = 32) -> str:
    """A fresh ``whsec_`` signing secret (random bytes, base64) for a submitter's configuration."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


# ------------------------------------------------------------------ resolution


class Resolver(Protocol):
    """Turns a host name into addresses; the sender checks them and connects to one of them."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``); IP literals are returned as they are."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = _literal(host)
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = _literal(str(sockaddr[0]))
            if address is not None and address not in addresses:
                addresses.append(address)
        return addresses


class StaticResolver:
    """Fixed answers for some names, like ``curl --resolve`` or an ``/etc/hosts`` entry; others go to ``fallback``.

    For deployments that pin a callback host to known addresses, and for tests that need a
    name to resolve to a given address. Answers still go through the address check.
    """

    def __init__(self, table: Mapping[str, Sequence[str]], fallback: Resolver | None = None) -> None:
        self._table = {
            name.lower().rstrip("."): [ipaddress.ip_address(a) for a in addresses] for name, addresses in table.items()
        }
        self._fallback = fallback

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        answer = self._table.get(host.lower().rstrip("."))
        if answer is not None:
            return list(answer)
        if self._fallback is not None:
            return await self._fallback.resolve(host, port)
        literal = _literal(host)
        if literal is not None:
            return [literal]
        raise socket.gaierror(socket.EAI_NONAME, "name not in the static table")


class CachingResolver:
    """Keeps another resolver's answers ``ttl`` seconds, so a host's callbacks resolve once per
    ``ttl`` instead of once per POST (the default resolver of ``WebhookSender``).

    Safe against DNS rebinding for the same reason the uncached resolver is: every attempt
    still checks the answer it uses (``check_addresses``, whose verdict is remembered per
    answer, not per name) and connects to the address it checked. A cached answer only delays
    seeing a new one by up to ``ttl``; the new one is checked when it comes. Failures are not
    kept: the next attempt asks again.
    """

    def __init__(self, resolver: Resolver | None = None, *, ttl: float = DNS_CACHE_SECONDS,
                 max_entries: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self._resolver: Resolver = resolver or SystemResolver()
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._answers: OrderedDict[tuple[str, int], tuple[float, tuple[IPAddress, ...]]] = OrderedDict()

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        key = (host, port)
        kept = self._answers.get(key)
        if kept is not None and self._clock() < kept[0]:
            return list(kept[1])
        answer = await self._resolver.resolve(host, port)
        self._answers[key] = (self._clock() + self._ttl, tuple(answer))
        self._answers.move_to_end(key)
        while len(self._answers) > self._max_entries:
            self._answers.popitem(last=False)
        return answer


@functools.lru_cache(maxsize=1024)
def _literal(host: str) -> IPAddress | None:
    """Parsed once per host string (a callback URL names the same host on every POST)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# ------------------------------------------------------------------ sending


@dataclass
class _Progress:
    """What an attempt got to, kept outside the try block so a timeout still records it."""

    host: str
    address: str | None = None
    redirects: int = 0
    response_bytes: int = 0
    truncated: bool = False


class _DnsFailure(Exception):
    pass


class _RedirectRefused(Exception):
    """A redirect the rules do not allow: the receiver's doing, so the delivery fails rather than is refused."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class WebhookSender:
    """Delivers ``Delivery`` records: one attempt (``send_once``) or the whole retry schedule (``deliver``).

    Keeps a few HTTP sessions, one per (scheme, address, port, host name), so keep-alive
    connections are reused only for the same pinned address and the same TLS name. Use as an
    async context manager, or call ``aclose``.
    """

    def __init__(
        self,
        *,
        retry: DeliveryRetryPolicy | None = None,
        limits: DeliveryLimits | None = None,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rng: random.Random | None = None,
        user_agent: str = USER_AGENT,
        max_sessions: int = 32,
    ) -> None:
        self.retry = retry or DeliveryRetryPolicy()
        self.limits = limits or DeliveryLimits()
        self._resolver: Resolver = resolver or CachingResolver(SystemResolver())
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._rng = rng or random.Random()
        self._user_agent = user_agent
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[tuple[str, str, int, str], aiohttp.ClientSession] = OrderedDict()

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for session in sessions:
            await session.close()

    # -------------------------------------------------------------- public

    async def deliver(
        self,
        delivery: Delivery,
        config: CallbackConfig,
        *,
        dead_letter: DeadLetterSink | None = None,
        on_attempt: AttemptHook | None = None,
    ) -> DeliveryResult:
        """Attempt until delivered, failed for good, or out of attempts (then dead-lettered)."""
        try:
            callback = resolve_callback(delivery, config)
        except DeliveryRefused as exc:
            _log.warning("webhook %s for submitter %s refused: %s", delivery.webhook_id, delivery.submitter_id,
                         exc.reason.value)
            result = DeliveryResult(delivery, DeliveryState.REFUSED, (), refusal=exc.reason)
            await _call(dead_letter, result)
            return result
        attempts: list[Attempt] = []
        state = DeliveryState.DEAD_LETTERED
        for number in range(1, self.retry.max_attempts + 1):
            attempt = await self._attempt(delivery, callback, config, number)
            attempts.append(attempt)
            await _call(on_attempt, attempt)
            if attempt.outcome is AttemptOutcome.DELIVERED:
                return DeliveryResult(delivery, DeliveryState.DELIVERED, tuple(attempts))
            if attempt.outcome is AttemptOutcome.FAILED:
                state = DeliveryState.FAILED
                break
            if attempt.outcome is AttemptOutcome.REFUSED:
                state = DeliveryState.REFUSED
                break
            if number < self.retry.max_attempts:
                await asyncio.sleep(self.retry.delay(number, self._rng, attempt.retry_after))
        result = DeliveryResult(delivery, state, tuple(attempts), refusal=attempts[-1].refusal)
        _log.warning("webhook %s for submitter %s %s after %d attempt(s)", delivery.webhook_id,
                     delivery.submitter_id, state.value, len(attempts))
        await _call(dead_letter, result)
        return result

    async def replay(
        self,
        delivery: Delivery | DeliveryResult,
        config: CallbackConfig,
        *,
        dead_letter: DeadLetterSink | None = None,
        on_attempt: AttemptHook | None = None,
    ) -> DeliveryResult:
        """Deliver again (e.g. from the dead-letter store) with the same ``webhook-id`` and body.

        The callback is resolved anew under the submitter's current configuration, so a replay
        goes to a receiver that moved and is signed with a rotated secret.
        """
        if isinstance(delivery, DeliveryResult):
            delivery = delivery.delivery
        return await self.deliver(delivery, config, dead_letter=dead_letter, on_attempt=on_attempt)

    async def send_once(self, delivery: Delivery, config: CallbackConfig, number: int = 1) -> Attempt:
        """One attempt, for callers that schedule retries themselves (with ``DeliveryRetryPolicy.delay``).

        Raises ``DeliveryRefused`` when the callback cannot be resolved at all.
        """
        return await self._attempt(delivery, resolve_callback(delivery, config), config, number)

    # -------------------------------------------------------------- one attempt

    async def _attempt(
        self, delivery: Delivery, callback: ResolvedCallback, config: CallbackConfig, number: int
    ) -> Attempt:
        started, clock = datetime.now(UTC), time.monotonic()
        headers = sign_headers(callback.secret, delivery.webhook_id, delivery.body, int(time.time()))
        progress = _Progress(host=callback.target.host)

        def record(
            outcome: AttemptOutcome, *, status: int | None = None, error: AttemptError | None = None,
            refusal: RefusalReason | None = None, retry_after: float | None = None,
        ) -> Attempt:
            _log.info("webhook %s attempt %d to %s: %s%s%s", delivery.webhook_id, number, progress.host,
                      outcome.value, f" {status}" if status else "", f" ({error.value})" if error else "")
            return Attempt(
                number=number, webhook_id=delivery.webhook_id, started_at=started,
                elapsed=time.monotonic() - clock, outcome=outcome, status=status, error=error, refusal=refusal,
                retry_after=retry_after, host=progress.host, address=progress.address,
                redirects=progress.redirects, response_bytes=progress.response_bytes, truncated=progress.truncated,
            )

        try:
            async with asyncio.timeout(self.limits.total_timeout):
                status, retry_after = await self._post_following(callback.target, headers, delivery.body,
                                                                 config, progress)
        except _RedirectRefused as exc:
            return record(AttemptOutcome.FAILED, error=AttemptError.REDIRECT, refusal=exc.reason)
        except DeliveryRefused as exc:
            return record(AttemptOutcome.REFUSED, error=AttemptError.REFUSED, refusal=exc.reason)
        except TimeoutError:  # the total timeout, and aiohttp's connect and read timeouts
            return record(AttemptOutcome.RETRY, error=AttemptError.TIMEOUT)
        except _DnsFailure:
            return record(AttemptOutcome.RETRY, error=AttemptError.DNS)
        except aiohttp.ClientConnectorError:  # refused, unreachable, or a TLS handshake that failed
            return record(AttemptOutcome.RETRY, error=AttemptError.CONNECT)
        except aiohttp.InvalidURL:
            return record(AttemptOutcome.REFUSED, error=AttemptError.REFUSED, refusal=RefusalReason.INVALID_URL)
        except (aiohttp.ClientError, OSError):  # a reset or a dropped connection, wrapped or not
            return record(AttemptOutcome.RETRY, error=AttemptError.NETWORK)
        if 300 <= status < 400:
            return record(AttemptOutcome.FAILED, status=status, error=AttemptError.REDIRECT)
        outcome = classify_status(status)
        if outcome is AttemptOutcome.DELIVERED:
            return record(outcome, status=status)
        return record(outcome, status=status, error=AttemptError.STATUS,
                      retry_after=retry_after if outcome is AttemptOutcome.RETRY else None)

    async def _post_following(
        self, target: CallbackTarget, headers: dict[str, str], body: bytes, config: CallbackConfig,
        progress: _Progress,
    ) -> tuple[int, float | None]:
        while True:
            progress.host, progress.address = target.host, None
            try:
                answer = await self._resolver.resolve(target.host, target.port)
            except (OSError, LookupError) as exc:
                raise _DnsFailure from exc
            try:
                addresses = check_addresses(target.host, answer, config)
            except DeliveryRefused as exc:
                if progress.redirects:
                    raise _RedirectRefused(exc.reason) from exc
                raise
            status, location, retry_after = await self._post(target, addresses, headers, body, progress)
            if status in (307, 308) and location and progress.redirects < self.limits.max_redirects:
                try:
                    target = check_callback_url(urljoin(target.url, location), config, requested=True)
                except DeliveryRefused as exc:
                    raise _RedirectRefused(exc.reason) from exc
                progress.redirects += 1
                continue
            return status, retry_after

    async def _post(
        self, target: CallbackTarget, addresses: Sequence[IPAddress], headers: dict[str, str], body: bytes,
        progress: _Progress,
    ) -> tuple[int, str | None, float | None]:
        """POST to the first checked address that accepts a connection (nothing is sent to the others)."""
        server_hostname = None if target.scheme == "http" or target.is_ip_literal else target.host
        headers["host"] = target.host_header  # this attempt's own dict; a redirect's hop sets its own host
        for index, address in enumerate(addresses):
            url, text = _pinned_url(target, address)
            session = await self._session((target.scheme, text, target.port, target.host))
            progress.address = text
            try:
                async with session.post(url, data=body, headers=headers, server_hostname=server_hostname,
                                        allow_redirects=False) as response:
                    await self._drain(response, progress)
                    return (response.status, response.headers.get("location"),
                            parse_retry_after(response.headers.get("retry-after")))
            except aiohttp.ClientConnectorError:
                if index == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable: check_addresses never returns an empty tuple")

    async def _drain(self, response: aiohttp.ClientResponse, progress: _Progress) -> None:
        """Read (and drop) the response up to the size limit; a larger one is cut off and its connection closed."""
        limit = self.limits.max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            progress.truncated = True
            response.close()
            return
        while chunk := await response.content.readany():
            progress.response_bytes += len(chunk)
            if progress.response_bytes > limit:
                progress.truncated = True
                response.close()
                return

    async def _session(self, key: tuple[str, str, int, str]) -> aiohttp.ClientSession:
        session = self._sessions.pop(key, None)
        if session is None:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=MAX_CONNECTIONS, limit_per_host=0,
                                               keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.limits.connect_timeout,
                                              sock_connect=self.limits.connect_timeout,
                                              sock_read=self.limits.read_timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
                headers={"user-agent": self._user_agent},
            )
        self._sessions[key] = session
        while len(self._sessions) > self._max_sessions:
            _key, oldest = self._sessions.popitem(last=False)
            await oldest.close()
        return session


@functools.lru_cache(maxsize=1024)
def _pinned_url(target: CallbackTarget, address: IPAddress) -> tuple[URL, str]:
    """The URL that connects to ``address`` for ``target``, and the address as text: the same
    for every POST of a callback, so built (and parsed by yarl) once, not per POST."""
    text = str(address)
    netloc = f"[{text}]" if address.version == 6 else text
    # encoded: the path and query go out exactly as check_callback_url accepted them
    return URL(f"{target.scheme}://{netloc}:{target.port}{target.path}", encoded=True), text


async def _call(hook: Callable[[_T], object] | None, value: _T) -> None:
    if hook is not None:
        outcome = hook(value)
        if inspect.isawaitable(outcome):
            await outcome


# ------------------------------------------------------------------ blocking wrappers


def deliver(
    delivery: Delivery,
    config: CallbackConfig,
    *,
    retry: DeliveryRetryPolicy | None = None,
    limits: DeliveryLimits | None = None,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    dead_letter: DeadLetterSink | None = None,
    on_attempt: AttemptHook | None = None,
) -> DeliveryResult:
    """Blocking ``WebhookSender.deliver`` for synchronous callers (not from inside a running event loop)."""

    async def run() -> DeliveryResult:
        async with WebhookSender(retry=retry, limits=limits, resolver=resolver, ssl_context=ssl_context) as sender:
            return await sender.deliver(delivery, config, dead_letter=dead_letter, on_attempt=on_attempt)

    return asyncio.run(run())


def replay(
    delivery: Delivery | DeliveryResult,
    config: CallbackConfig,
    *,
    retry: DeliveryRetryPolicy | None = None,
    limits: DeliveryLimits | None = None,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    dead_letter: DeadLetterSink | None = None,
    on_attempt: AttemptHook | None = None,
) -> DeliveryResult:
    """Blocking ``WebhookSender.replay``: the same ``webhook-id`` and body, the current configuration."""
    if isinstance(delivery, DeliveryResult):
        delivery = delivery.delivery
    return deliver(delivery, config, retry=retry, limits=limits, resolver=resolver, ssl_context=ssl_context,
                   dead_letter=dead_letter, on_attempt=on_attempt)
