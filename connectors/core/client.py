"""Send a real-time X12 request to a trading partner's CAQH CORE SOAP endpoint and get its answer.

CAQH CORE gives a real-time eligibility round trip 20 seconds. That is a budget for the whole
exchange as the caller sees it, so this client enforces one **total deadline** across connection
attempts, backoff waits and reading the answer, not a timeout per attempt; when it runs out the
caller gets `CoreTimeoutError` and can answer its own client in time.

Retries happen only where a second try cannot make the partner process a request twice: the
connection failed before anything was sent, or the partner answered HTTP 503. A read timeout or a
dropped connection after sending is *not* retried (the partner may be working on it). Every attempt
goes through the partner's circuit breaker (`edi.resilience`), shared per partner id by all clients
of the process and set by the partner's own ``circuit_breaker`` configuration (threshold, open
time, trials), so a partner that is down is failed fast instead of waited on.

Outcomes are typed (all `CoreClientError`): a CORE ErrorCode other than ``Success`` raises a
`CoreErrorResponse` subclass, a SOAP fault `CoreSoapFaultError`, an unreadable answer
`CoreProtocolError`. A partner's free-text ErrorMessage or fault reason is kept on the exception
but never put into its message, and nothing here logs a payload: either may carry PHI.

`CoreClient` is the asyncio client. `SyncCoreClient` serves threads by running the same client on
a private event loop thread, so both share one deadline implementation: only a coroutine can be
cancelled when the budget ends in the middle of a slowly trickling answer.

The transport is aiohttp, not httpx: real-time eligibility has a budget of milliseconds of
pipeline overhead per request on two cores, and httpx spent several times aiohttp's CPU per call
(its pool checks every pooled connection on every request; see ``benchmarks/README.md``). An
aiohttp session belongs to the event loop it was made on, so the client makes it on its first
send and `aclose` must run on that same loop. aiohttp resends a request on a stale keep-alive
connection only for idempotent methods, never a POST, so one attempt never reaches the partner
twice. Proxies from the environment are looked up once per client (``trust_env``), not per
request as aiohttp would (with a thread hop each time, and ~/.netrc credentials httpx never sent).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import os
import random as _random
import ssl
import urllib.request
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
import certifi
from yarl import URL

from connectors.core.envelope import (
    MAX_ENVELOPE_BYTES,
    SOAP12_CONTENT_TYPE,
    CoreEnvelopeError,
    CoreRequest,
    CoreResponse,
    ErrorCode,
    PayloadType,
    SoapFault,
    UsernameToken,
    build_request,
    parse_response,
)
from connectors.loop import LoopThread
from edi.partners import CoreSoapTransport, TlsSettings, TradingPartner
from edi.resilience import CircuitBreaker, CircuitBreakers, CircuitOpenError, RetryPolicy

__all__ = [
    "DEFAULT_BREAKERS",
    "DEFAULT_RETRY",
    "CoreCircuitOpenError",
    "CoreClient",
    "CoreClientError",
    "CoreEnvelopeRejectedError",
    "CoreErrorResponse",
    "CoreHTTPError",
    "CorePayloadTypeError",
    "CoreProtocolError",
    "CoreResult",
    "CoreSoapFaultError",
    "CoreTimeoutError",
    "CoreUnauthorizedError",
    "CoreUnavailableError",
    "CoreVersionMismatchError",
    "SyncCoreClient",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Retry policy of clients not given one: three tries, 0.2 s to 2 s apart (full jitter).
DEFAULT_RETRY = RetryPolicy(base=0.2, cap=2.0, max_attempts=3)
#: Seconds an idle pooled connection is reused (uvicorn and Apache close idle keep-alive
#: connections after 5 s): at equal values the server closes a connection just as the client sends
#: a 270 on it, which fails as "maybe sent" and so is never retried. Reusing a connection only
#: well within the server's keep-alive avoids that race (seen with 16 calls in flight).
KEEPALIVE_EXPIRY = 2.0
#: Connections to one partner open at once (in use or idle); a send waits for a free one.
MAX_CONNECTIONS = 100

#: The circuit breakers of clients not given a registry: one per partner id, process-wide (the API
#: and the workers of one process see the same partner health), each with the thresholds of its
#: partner's ``transport.core_soap.circuit_breaker`` settings, these defaults where it has none.
DEFAULT_BREAKERS = CircuitBreakers()

_HEADERS = {
    "Content-Type": f'{SOAP12_CONTENT_TYPE}; charset=utf-8; action="RealTimeTransaction"',
    "Accept": f"{SOAP12_CONTENT_TYPE}, text/xml, application/xml",
}


# ============================================================================ errors


class CoreClientError(Exception):
    """A real-time exchange with a partner did not produce an answer. Messages carry the partner
    id, the PayloadID (a UUID) and codes only."""

    def __init__(self, message: str, *, partner_id: str, payload_id: str | None = None) -> None:
        self.partner_id = partner_id
        self.payload_id = payload_id
        super().__init__(f"partner {partner_id!r}: {message}")


class CoreTimeoutError(CoreClientError):
    """The response budget ran out."""


class CoreUnavailableError(CoreClientError):
    """The partner could not be reached or said it is unavailable (HTTP 503). `sent` tells
    whether the request may have reached the partner."""

    def __init__(
        self,
        message: str,
        *,
        partner_id: str,
        payload_id: str | None = None,
        sent: bool = False,
        status_code: int | None = None,
    ) -> None:
        self.sent = sent
        self.status_code = status_code
        super().__init__(message, partner_id=partner_id, payload_id=payload_id)

    @property
    def retryable(self) -> bool:
        """Safe to send again: nothing was sent, or the partner refused it unprocessed (503)."""
        return not self.sent or self.status_code == 503


class CoreCircuitOpenError(CoreUnavailableError):
    """Refused without trying: the partner's circuit is open after repeated failures."""

    def __init__(self, *, partner_id: str, retry_after: float, payload_id: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"circuit open after repeated failures; next trial in {retry_after:.1f} s",
            partner_id=partner_id,
            payload_id=payload_id,
        )

    @property
    def retryable(self) -> bool:
        return False


class CoreHTTPError(CoreClientError):
    """An HTTP status without a readable CORE envelope or SOAP fault."""

    def __init__(self, status_code: int, *, partner_id: str, payload_id: str | None = None) -> None:
        self.status_code = status_code
        super().__init__(
            f"HTTP {status_code} without a CORE envelope", partner_id=partner_id, payload_id=payload_id
        )


class CoreProtocolError(CoreClientError):
    """The answer is not a usable CORE response."""


class CoreSoapFaultError(CoreClientError):
    """The partner answered with a SOAP fault. `reason` is the partner's text (not in the message)."""

    def __init__(self, fault: SoapFault, *, partner_id: str, payload_id: str | None = None) -> None:
        self.fault_code = fault.code
        self.subcode = fault.subcode
        self.reason = fault.reason
        sub = f"/{fault.subcode}" if fault.subcode else ""
        super().__init__(f"SOAP fault {fault.code}{sub}", partner_id=partner_id, payload_id=payload_id)


class CoreErrorResponse(CoreClientError):
    """A CORE envelope answered with an ErrorCode other than Success. `error_message` is the
    partner's text (not in the message); `response` is the whole envelope."""

    def __init__(self, response: CoreResponse, *, partner_id: str) -> None:
        self.response = response
        self.error_code = response.error_code
        self.error_message = response.error_message
        super().__init__(
            f"CORE error {response.error_code}", partner_id=partner_id, payload_id=response.payload_id
        )


class CoreUnauthorizedError(CoreErrorResponse):
    """ErrorCode UnAuthorized: the credentials were refused or lack the right for this PayloadType."""


class CoreVersionMismatchError(CoreErrorResponse):
    """ErrorCode VersionMismatch: the partner does not support CORERuleVersion 2.2.0."""


class CorePayloadTypeError(CoreErrorResponse):
    """ErrorCode PayloadTypeIncorrect / PayloadTypeIllegal: the partner does not take this PayloadType."""


class CoreEnvelopeRejectedError(CoreErrorResponse):
    """Any other ``<Field>Required`` / ``<Field>Illegal`` code: our envelope was incomplete or wrong."""


def _error_for(response: CoreResponse, partner_id: str) -> CoreErrorResponse:
    code = response.error_code
    if code == ErrorCode.UNAUTHORIZED:
        return CoreUnauthorizedError(response, partner_id=partner_id)
    if code == ErrorCode.VERSION_MISMATCH:
        return CoreVersionMismatchError(response, partner_id=partner_id)
    if code in (ErrorCode.PAYLOAD_TYPE_INCORRECT, ErrorCode.PAYLOAD_TYPE_ILLEGAL):
        return CorePayloadTypeError(response, partner_id=partner_id)
    if code.endswith(("Required", "Illegal")):
        return CoreEnvelopeRejectedError(response, partner_id=partner_id)
    return CoreErrorResponse(response, partner_id=partner_id)


def _safe_to_retry(error: BaseException) -> bool:
    return isinstance(error, CoreUnavailableError) and error.retryable


# ============================================================================ result


@dataclass(frozen=True, slots=True)
class CoreResult:
    """The partner's answer: `payload` is the X12 text (a 271, or a 999 / TA1 when the partner
    rejected the X12; see `payload_type`), with both envelopes for tracking."""

    payload: str = dataclasses.field(repr=False)
    response: CoreResponse
    request: CoreRequest  # without credentials
    attempts: int
    elapsed: float  # seconds, all attempts and waits

    @property
    def payload_type(self) -> str:
        return self.response.payload_type

    @property
    def payload_id(self) -> str:
        return self.request.payload_id


Verdict = Literal["success", "failure"] | None


# ============================================================================ async client


def _ssl_context(tls: TlsSettings, *, trust_env: bool) -> ssl.SSLContext:
    """The partner's TLS settings as one context. Without a ``ca_bundle`` (a file or a directory)
    the trusted CAs are certifi's, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` with ``trust_env``:
    the CAs this client trusted when it was on httpx, not the system store aiohttp would use."""
    if not tls.verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif tls.ca_bundle is not None:
        bundle = str(tls.ca_bundle)
        if os.path.isdir(bundle):
            context = ssl.create_default_context(capath=bundle)
        else:
            context = ssl.create_default_context(cafile=bundle)
    elif trust_env and os.environ.get("SSL_CERT_FILE"):
        context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    elif trust_env and os.environ.get("SSL_CERT_DIR"):
        context = ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    else:
        context = ssl.create_default_context(cafile=certifi.where())
    if tls.client_cert is not None:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _env_proxy(url: URL) -> tuple[URL | None, dict[str, str] | None]:
    """The proxy the environment names for `url` (``HTTP_PROXY``/``HTTPS_PROXY``, else
    ``ALL_PROXY``; none for a host ``NO_PROXY`` covers) and the headers for it: its credentials,
    from its URL only."""
    proxies = urllib.request.getproxies()
    if url.host is None or urllib.request.proxy_bypass_environment(url.host, proxies):
        return None, None
    address = proxies.get(url.scheme) or proxies.get("all")
    if not address:
        return None, None
    proxy = URL(address if "://" in address else f"http://{address}")
    if proxy.user is None:
        return proxy, None
    credentials = base64.b64encode(f"{proxy.user}:{proxy.password or ''}".encode("latin-1")).decode("ascii")
    return proxy.with_user(None), {"Proxy-Authorization": f"Basic {credentials}"}


async def _read_bounded(response: aiohttp.ClientResponse, limit: int = MAX_ENVELOPE_BYTES) -> bytes | None:
    """The (decoded) body, or None when it is larger than `limit`: the rest is then left unread
    and the connection dropped."""
    declared = response.content_length
    if declared is not None and declared > limit:
        response.close()
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        size += len(chunk)
        if size > limit:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class CoreClient:
    """Async CORE real-time client for one trading partner.

    `budget` (seconds, default the partner's ``timeout_seconds``, 20) bounds each `send` as a
    whole. `retry` is combined with this module's safety rule (only unsent requests and 503s are
    retried, whatever its own predicate says). `breakers` defaults to the process-wide registry; the
    partner's ``circuit_breaker`` settings, when configured, override the registry's defaults.
    `environ` resolves the partner's credential references (default ``os.environ``). `trust_env`
    takes a proxy and CA locations from the environment.

    The HTTP session is made on the first send, on that send's event loop; the client serves only
    that loop, and `aclose` must be awaited there.
    """

    def __init__(
        self,
        partner: TradingPartner,
        *,
        budget: float | None = None,
        retry: RetryPolicy | None = None,
        breakers: CircuitBreakers | None = None,
        environ: Mapping[str, str] | None = None,
        random: Callable[[], float] = _random.random,
        trust_env: bool = True,
    ) -> None:
        settings = partner.transport.core_soap
        if settings is None:
            raise ValueError(f"partner {partner.id!r} has no core_soap transport")
        self.partner_id = partner.id
        self.settings: CoreSoapTransport = settings
        self.url = str(settings.url)
        self.budget = settings.timeout_seconds if budget is None else budget
        if self.budget <= 0:
            raise ValueError("budget must be positive")
        policy = retry or DEFAULT_RETRY
        own = policy.retryable
        self.retry = dataclasses.replace(policy, retryable=lambda e: _safe_to_retry(e) and own(e))
        registry = breakers or DEFAULT_BREAKERS
        limits = settings.circuit_breaker
        if limits is None:
            self.breaker = registry.for_partner(partner.id)
        else:
            self.breaker = registry.for_partner(
                partner.id,
                failure_threshold=limits.failure_threshold,
                open_seconds=limits.open_seconds,
                half_open_trials=limits.half_open_trials,
            )
        credentials = settings.credentials(environ)
        self._security = UsernameToken(*credentials) if credentials else None
        self._random = random
        self._url = URL(self.url)
        self._ssl = _ssl_context(settings.tls, trust_env=trust_env)
        self._proxy, proxy_headers = _env_proxy(self._url) if trust_env else (None, None)
        # The proxy's credentials go on the CONNECT request of an https tunnel, and on the request
        # itself over plain http (aiohttp's own proxy_auth is deprecated).
        self._proxy_headers = proxy_headers if self._url.scheme == "https" else None
        self._headers = proxy_headers if self._url.scheme != "https" else None
        # Sends past MAX_CONNECTIONS wait here, where the wait is known to send nothing: a budget
        # that ends in this queue is the local pool's doing, not the partner's.
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _session_on(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the CoreClient is closed")
        session = self._session
        if session is None:
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=self._ssl, limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_EXPIRY
                ),
                headers=_HEADERS,
                # no timeouts of aiohttp's own: the deadline of `send` ends every attempt
                timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None),
                cookie_jar=aiohttp.DummyCookieJar(),
                proxy=self._proxy,
                trust_env=False,  # looked up once in __init__
            )
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("a CoreClient sends only on the event loop of its first send")
        return session

    async def __aenter__(self) -> CoreClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            if asyncio.get_running_loop() is not self._loop:
                raise RuntimeError("a CoreClient is closed on the event loop it sent on")
            await session.close()

    async def send_270(self, x12: str, *, payload_id: str | None = None) -> CoreResult:
        """Send a 270 (005010X279A1) and return the partner's 271 (or 999/TA1)."""
        return await self.send(x12, payload_type=PayloadType.X12_270_REQUEST, payload_id=payload_id)

    async def send(
        self,
        x12: str,
        *,
        payload_type: str = PayloadType.X12_270_REQUEST,
        payload_id: str | None = None,
    ) -> CoreResult:
        """One real-time exchange within the budget. The same PayloadID is used on every try.

        Raises a `CoreClientError` subclass when no usable answer came back, and
        `connectors.core.envelope.CoreEnvelopeError` (before sending) when `x12` holds characters
        XML cannot carry.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.budget
        request = CoreRequest.new(
            x12,
            sender_id=self.settings.sender_id,
            receiver_id=self.settings.receiver_id,
            payload_type=payload_type,
            payload_id=payload_id,
            security=self._security,
        )
        body = build_request(request)
        attempts = 0

        async def attempt() -> CoreResponse:
            nonlocal attempts
            attempts += 1
            return await self._attempt(body, request.payload_id, deadline, loop)

        def on_retry(number: int, error: BaseException, delay: float) -> None:
            log.warning(
                "CORE partner %s payload %s: attempt %d failed (%s); retrying in %.2f s",
                self.partner_id,
                request.payload_id,
                number,
                type(error).__name__,
                delay,
            )

        response = await self.retry.acall(
            attempt, clock=loop.time, deadline=deadline, random=self._random, on_retry=on_retry
        )
        elapsed = loop.time() - started
        log.info(
            "CORE partner %s payload %s: %s in %.3f s after %d attempt(s)",
            self.partner_id,
            request.payload_id,
            response.payload_type,
            elapsed,
            attempts,
        )
        return CoreResult(
            payload=response.payload,
            response=response,
            request=dataclasses.replace(request, security=None),
            attempts=attempts,
            elapsed=elapsed,
        )

    async def _attempt(
        self, body: bytes, payload_id: str, deadline: float, loop: asyncio.AbstractEventLoop
    ) -> CoreResponse:
        partner = self.partner_id
        if deadline - loop.time() <= 0:
            raise CoreTimeoutError(
                f"no answer within {self.budget:g} s", partner_id=partner, payload_id=payload_id
            )
        session = self._session_on(loop)
        try:
            self.breaker.acquire()
        except CircuitOpenError as error:
            raise CoreCircuitOpenError(
                partner_id=partner, retry_after=error.retry_after, payload_id=payload_id
            ) from None
        verdict: Verdict = None
        waiting = True  # for a free connection: nothing sent yet
        try:
            try:
                async with asyncio.timeout_at(deadline), self._slots:
                    waiting = False
                    response = await session.post(
                        self._url, data=body, headers=self._headers, allow_redirects=False,
                        proxy_headers=self._proxy_headers,
                    )
                    try:
                        status, content = response.status, await _read_bounded(response)
                    finally:
                        response.release()
            except TimeoutError:
                if waiting:
                    raise CoreUnavailableError(
                        "no free connection in the local pool", partner_id=partner, payload_id=payload_id
                    ) from None
                verdict = "failure"
                raise CoreTimeoutError(
                    f"no answer within {self.budget:g} s", partner_id=partner, payload_id=payload_id
                ) from None
            except aiohttp.ClientConnectorError as error:  # refused, DNS, TLS handshake: nothing sent
                verdict = "failure"
                raise CoreUnavailableError(
                    f"connection failed ({type(error).__name__})", partner_id=partner, payload_id=payload_id
                ) from None
            except (aiohttp.ClientError, OSError) as error:  # lost, reset, malformed answer: maybe sent
                verdict = "failure"
                raise CoreUnavailableError(
                    f"connection lost after sending ({type(error).__name__})",
                    partner_id=partner,
                    payload_id=payload_id,
                    sent=True,
                ) from None
            verdict, outcome = self._interpret(status, content, payload_id)
            if isinstance(outcome, CoreClientError):
                raise outcome
            return outcome
        finally:
            if verdict == "success":
                self.breaker.record_success()
            elif verdict == "failure":
                self.breaker.record_failure()
            else:
                self.breaker.release()

    def _interpret(
        self, status: int, content: bytes | None, payload_id: str
    ) -> tuple[Verdict, CoreResponse | CoreClientError]:
        """What an HTTP answer means, and whether it speaks for or against the partner's health.
        `content` is None when the body was larger than an envelope may be."""
        partner = self.partner_id
        if status == 503:
            return "failure", CoreUnavailableError(
                "HTTP 503 (service unavailable)",
                partner_id=partner,
                payload_id=payload_id,
                sent=True,
                status_code=503,
            )
        if content is None:
            return "failure", CoreProtocolError(
                f"HTTP {status} with a body larger than {MAX_ENVELOPE_BYTES} bytes",
                partner_id=partner,
                payload_id=payload_id,
            )
        try:
            parsed = parse_response(content)
        except CoreEnvelopeError as error:
            if status >= 500:
                return "failure", CoreHTTPError(status, partner_id=partner, payload_id=payload_id)
            if status != 200:
                return "success", CoreHTTPError(status, partner_id=partner, payload_id=payload_id)
            return "failure", CoreProtocolError(
                f"unreadable response envelope: {error}", partner_id=partner, payload_id=payload_id
            )
        if isinstance(parsed, SoapFault):
            verdict: Verdict = "failure" if parsed.code == "Receiver" else "success"
            return verdict, CoreSoapFaultError(parsed, partner_id=partner, payload_id=payload_id)
        if not parsed.ok:
            return "success", _error_for(parsed, partner)
        if not parsed.payload:
            return "failure", CoreProtocolError(
                "response with ErrorCode Success but no Payload", partner_id=partner, payload_id=payload_id
            )
        return "success", parsed


# ============================================================================ sync client


class SyncCoreClient:
    """`CoreClient` for synchronous code: same arguments, blocking `send`/`send_270`.

    It runs the async client on an event loop in a daemon thread of its own (so a forgotten
    `close()` never blocks interpreter exit); call `close()` or use it as a context manager.
    Calls from several threads at once are fine: they become concurrent tasks on that loop.
    """

    def __init__(self, partner: TradingPartner, **options: Any) -> None:
        self._client = CoreClient(partner, **options)
        self.partner_id = partner.id
        self._loop = LoopThread(f"core-client-{partner.id}")
        self._closed = False

    @property
    def breaker(self) -> CircuitBreaker:
        return self._client.breaker

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("SyncCoreClient is closed")
        return self._loop.run(coroutine)

    def send(
        self, x12: str, *, payload_type: str = PayloadType.X12_270_REQUEST, payload_id: str | None = None
    ) -> CoreResult:
        return self._run(self._client.send(x12, payload_type=payload_type, payload_id=payload_id))

    def send_270(self, x12: str, *, payload_id: str | None = None) -> CoreResult:
        return self.send(x12, payload_type=PayloadType.X12_270_REQUEST, payload_id=payload_id)

    def send_270_many(self, x12s: list[str], *, in_flight: int = 16) -> list[CoreResult | BaseException]:
        """Several 270s side by side, at most ``in_flight`` at a time; each one's 271 or the
        ``CoreClientError`` / ``CoreEnvelopeError`` it raised, in order. Each call goes through
        the partner's circuit breaker as ``send`` does: once it opens, the rest are refused
        without trying (``CoreCircuitOpenError``, so they are known not sent)."""
        gate = asyncio.Semaphore(in_flight)

        async def one(x12: str) -> CoreResult:
            async with gate:
                return await self._client.send(x12, payload_type=PayloadType.X12_270_REQUEST)

        async def every() -> list[CoreResult | BaseException]:
            return await asyncio.gather(*(one(x12) for x12 in x12s), return_exceptions=True)

        return self._run(every())

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._run(self._client.aclose())
        finally:
            self._closed = True
            self._loop.stop()

    def __enter__(self) -> SyncCoreClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
