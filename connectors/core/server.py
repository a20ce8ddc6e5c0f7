"""An ASGI endpoint that answers CAQH CORE vC2.2.0 real-time SOAP requests.

The payer simulator (and any test that needs a partner) plays the receiving side of a CORE
connection: it must refuse what a real payer refuses, with the same codes, so that the client and
the pipeline are exercised against the rule rather than against themselves. `core_app(handler)`
does the envelope work and leaves only the business answer to `handler`:

1. Anything that is not a well-formed SOAP 1.2 envelope holding a ``COREEnvelopeRealTimeRequest``
   (including any DTD or entity declaration: billion laughs, XXE) gets a SOAP fault, HTTP 400 for
   ``Sender`` faults and 500 for the others (SOAP 1.2 HTTP binding). An unknown header block
   marked mustUnderstand gets a ``MustUnderstand`` fault.
2. With `authenticate`, the WS-Security UsernameToken (PasswordText) is checked first;
   refusal is a CORE response with ErrorCode ``UnAuthorized``.
3. Envelope fields are checked in schema order: ``<Field>Required``, ``VersionMismatch``,
   ``ProcessingModeIllegal``, ``PayloadIDIllegal``, ``TimeStampIllegal``, then ``ReceiverIDIllegal``
   (with `receiver_ids`) and ``PayloadTypeIncorrect`` (a PayloadType not in `payload_types`).
4. Then ``handler(payload_x12, meta)`` runs (a coroutine function, or a plain function run in a
   worker thread). It returns the X12 answer as text, in which case the response PayloadType is
   the one `payload_types` pairs with the request's, or a `CoreReply` naming another (a 999 when it
   rejects the X12). `meta` is the parsed request without credentials.

CORE-level errors are ordinary SOAP responses (HTTP 200) with PayloadType ``CoreEnvelopeError``.
A handler that raises gets a ``Receiver`` fault whose text does not repeat the exception (it may
hold PHI); only the exception type and the PayloadID are logged.
"""

from __future__ import annotations

import dataclasses
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.core.envelope import (
    MAX_ENVELOPE_BYTES,
    PASSWORD_TEXT,
    SOAP12_CONTENT_TYPE,
    CoreEnvelopeError,
    CoreProblem,
    CoreRequest,
    CoreResponse,
    ErrorCode,
    PayloadType,
    build_fault,
    build_response,
    parse_request,
    request_problem,
)

__all__ = ["CoreReply", "DEFAULT_PAYLOAD_TYPES", "Handler", "core_app", "static_credentials"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CoreReply:
    """A handler's answer with an explicit PayloadType (e.g. ``X12_999_Response_005010X231A1``)."""

    payload: str = dataclasses.field(repr=False)
    payload_type: str


HandlerResult = str | CoreReply
Handler = Callable[[str, CoreRequest], HandlerResult | Awaitable[HandlerResult]]
Authenticator = Callable[[str, str], bool]

#: Request PayloadType -> the PayloadType of a normal answer.
DEFAULT_PAYLOAD_TYPES: Mapping[str, str] = {
    PayloadType.X12_270_REQUEST.value: PayloadType.X12_271_RESPONSE.value,
}

_CONTENT_TYPE = f"{SOAP12_CONTENT_TYPE}; charset=utf-8"
_HTTP_STATUS_OF_FAULT = {"Sender": 400}  # every other SOAP 1.2 fault code maps to 500


def static_credentials(username: str, password: str) -> Authenticator:
    """An authenticator accepting exactly one username/password (compared in constant time)."""

    def check(given_user: str, given_password: str) -> bool:
        user_ok = hmac.compare_digest(given_user.encode(), username.encode())
        password_ok = hmac.compare_digest(given_password.encode(), password.encode())
        return user_ok and password_ok

    return check


def _fault(code: str, reason: str, subcode: str | None = None) -> Response:
    return Response(
        build_fault(code, reason, subcode),
        status_code=_HTTP_STATUS_OF_FAULT.get(code, 500),
        media_type=_CONTENT_TYPE,
    )


def _core_error(request: CoreRequest, error_code: str, message: str) -> Response:
    response = CoreResponse.answering(
        request,
        payload_type=PayloadType.CORE_ENVELOPE_ERROR,
        error_code=error_code,
        error_message=message,
    )
    return Response(build_response(response), status_code=200, media_type=_CONTENT_TYPE)


def _is_coroutine_function(fn: Any) -> bool:
    call = inspect.getattr_static(type(fn), "__call__", None) if not inspect.isroutine(fn) else None
    return inspect.iscoroutinefunction(fn) or (call is not None and inspect.iscoroutinefunction(call))


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def core_app(
    handler: Handler,
    *,
    path: str = "/",
    payload_types: Mapping[str, str] = DEFAULT_PAYLOAD_TYPES,
    receiver_ids: Iterable[str] | None = None,
    authenticate: Authenticator | None = None,
    max_body: int = MAX_ENVELOPE_BYTES,
) -> Starlette:
    """A Starlette app answering CORE real-time requests POSTed to `path` (see the module doc).

    `payload_types` maps each accepted request PayloadType to its answer's PayloadType;
    `receiver_ids` (if given) are the ReceiverIDs this endpoint answers for; `authenticate(username,
    password)` (if given) must accept the request's UsernameToken.
    """
    accepted = dict(payload_types)
    receivers = frozenset(receiver_ids) if receiver_ids is not None else None
    is_async = _is_coroutine_function(handler)

    async def call_handler(payload: str, meta: CoreRequest) -> HandlerResult:
        if is_async:
            result = await handler(payload, meta)  # type: ignore[misc]
        else:
            result = await run_in_threadpool(handler, payload, meta)
            if inspect.isawaitable(result):
                result = await result
        return result  # type: ignore[return-value]

    async def endpoint(http: Request) -> Response:
        content_type = http.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (SOAP12_CONTENT_TYPE, "application/xml", "text/xml"):
            return _fault("Sender", f"Content-Type must be {SOAP12_CONTENT_TYPE}")
        body = await _read_body(http, max_body)
        if body is None:
            return _fault("Sender", f"envelope larger than {max_body} bytes")
        try:
            request = parse_request(body, max_bytes=max_body)
        except CoreEnvelopeError as error:
            return _fault(error.fault_code, str(error))
        if request.not_understood:
            return _fault("MustUnderstand", "a header block marked mustUnderstand is not understood")

        if authenticate is not None:
            token = request.security
            if (
                token is None
                or token.password_type != PASSWORD_TEXT
                or not authenticate(token.username, token.password)
            ):
                log.info("CORE request %s refused: not authorized", request.payload_id or "-")
                return _core_error(request, ErrorCode.UNAUTHORIZED, "the credentials were not accepted")

        problem = request_problem(request)
        if problem is None and receivers is not None and request.receiver_id not in receivers:
            problem = CoreProblem(ErrorCode.RECEIVER_ID_ILLEGAL, "ReceiverID is not served here")
        if problem is None and request.payload_type not in accepted:
            problem = CoreProblem(
                ErrorCode.PAYLOAD_TYPE_INCORRECT,
                "PayloadType not accepted here; accepted: " + ", ".join(sorted(accepted)),
            )
        if problem is not None:
            log.info("CORE request %s refused: %s", request.payload_id or "-", problem.error_code)
            return _core_error(request, problem.error_code, problem.message)

        meta = dataclasses.replace(request, security=None)
        try:
            result = await call_handler(request.payload, meta)
        except Exception as error:
            log.error("CORE request %s: handler failed (%s)", request.payload_id, type(error).__name__)
            return _fault("Receiver", "the receiver could not process the payload")
        reply = result if isinstance(result, CoreReply) else CoreReply(result, accepted[request.payload_type])
        if not isinstance(reply.payload, str) or not reply.payload.strip():
            log.error("CORE request %s: handler returned no payload", request.payload_id)
            return _fault("Receiver", "the receiver produced no answer")
        response = CoreResponse.answering(
            request, payload=reply.payload, payload_type=reply.payload_type, error_code=ErrorCode.SUCCESS
        )
        try:
            document = build_response(response)
        except CoreEnvelopeError as error:
            log.error("CORE request %s: answer cannot be enveloped (%s)", request.payload_id, error)
            return _fault("Receiver", "the receiver's answer cannot be carried in XML")
        return Response(document, status_code=200, media_type=_CONTENT_TYPE)

    return Starlette(routes=[Route(path, endpoint, methods=["POST"])])
