"""The REST API app factory: requests in, transactions out.

``create_app(repository, payload_store, submitters_auth)`` builds a FastAPI app with no global
state. Endpoints:

* ``POST /eligibility`` (one request) and ``POST /claims`` (one claim or an array of claims,
  professional or institutional, told apart by their fields): the body is validated with
  ``edi.checks.validate_request``; problems answer 400 ``application/problem+json`` listing every
  field path. A valid request is stored encrypted in the payload store, recorded as a transaction
  (``received -> validated``) and answered 202 with its id. The ``Idempotency-Key`` header makes a
  retry safe: the same key with the same body answers the same transaction(s) with the same
  status; the same key with another body answers 409. The store keeps the key's keyed digest
  (``edi.lookup``), never the key: clients build keys from what they have, a member id or a file
  name. For an array of claims, claim ``i`` (i > 0) is recorded under ``<digest>#<i>``, claim 0
  under the digest itself.
* ``GET /transactions/{id}`` and ``GET /transactions``: the caller's own transactions only;
  another submitter's id answers 404, exactly like an unknown id.

Authentication: an API key in ``Authorization: Bearer <key>`` or ``X-API-Key``; the app only
holds SHA-256 hashes of keys (``submitters_auth``: hex hash -> submitter id). Bodies above
``max_body_bytes`` answer 413 without being read further.
"""

import functools
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectors.api.auth import install_auth, require_scope
from connectors.api.cors import allow_origins, cors_origins
from connectors.api.problems import PROBLEM_JSON, ProblemDetails, ProblemError, problem_response
from connectors.api.reports import reports_router
from connectors.core.client import CoreClientError
from connectors.core.envelope import CoreEnvelopeError
from connectors.pipeline.realtime import ClientPool, settle
from edi.audit.record import AuditLog, phi_read
from edi.auth import ClientRegistry, TokenIssuer, TokenVerifier
from edi.auth.scopes import Scope
from edi.checks import MAX_CLAIMS_PER_TRANSACTION, Problem, validate_request
from edi.models import EligibilityRequest, InstitutionalClaimRequest, ProfessionalClaimRequest
from edi.payloads import PayloadStore
from edi.pipeline import Pipeline, express, intake
from edi.pipeline.translate import translate
from edi.pipeline.transmission import RealtimeSend, begin_realtime
from edi.store import (
    Correlation,
    IdempotencyConflictError,
    Kind,
    NewTransaction,
    PayloadAttachment,
    Repository,
    State,
    TransactionFilter,
    TransactionRecord,
)
from edi.store.models import PayloadKind
from edi.store.repository import MAX_PAGE, UnexpectedStateError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "hash_api_key"]

log = logging.getLogger(__name__)

# What an API key grants: a submitter's everyday work. Reading the audit trail and operating the
# pipeline need an access token with those scopes.
API_KEY_SCOPES = frozenset({Scope.ELIGIBILITY_WRITE, Scope.CLAIMS_WRITE, Scope.TRANSACTIONS_READ})
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
#: Worker threads for store work at once (PostgreSQL's pool holds 10 connections by default).
DEFAULT_STORE_THREADS = 8
#: Threads at once for the store work of real-time eligibility requests (before and after the
#: CORE call). That work is CPU-bound Python: under the GIL more threads add no throughput, and
#: each thread that gives the GIL up for a system call (SQLite, a file write, a flush) waits up
#: to the interpreter's switch interval to get it back while another computes -- with eight,
#: a request's 6-8 ms of CPU took 100+ ms at the p99. Two let one request's flush or database
#: round trip overlap another's CPU; one alone queues every request behind each flush, which a
#: busy disk makes long. Measured (``benchmarks.bench_eligibility``, 50 concurrent, 1 s payer,
#: idle machine): p99 overhead 536-577 ms with 8, 149-203 ms with 2, 155-181 ms with 1; with the
#: machine loaded by other work, 1 did worst.
DEFAULT_REALTIME_THREADS = 2
T = TypeVar("T")
ACTOR = "api"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AUDITABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,25}")  # what the audit trail takes as a transaction id
_DOCUMENT_TYPES = {"eligibility": "270", "professional": "837P", "institutional": "837I"}


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of an API key: what ``submitters_auth`` is keyed by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# -- response models (for the OpenAPI document) --------------------------------------------------


class Links(BaseModel):
    self: str


class Accepted(BaseModel):
    id: str
    state: State
    links: Links


class AcceptedBatch(BaseModel):
    transactions: list[Accepted]


class HistoryEntry(BaseModel):
    state: State
    from_: State | None = Field(default=None, alias="from")
    at: datetime
    detail: str | None = None


class TransactionView(BaseModel):
    id: str
    kind: Kind
    state: State
    createdAt: datetime  # noqa: N815 - JSON field names
    updatedAt: datetime  # noqa: N815
    controlNumber: str | None = None  # noqa: N815
    patientControlNumber: str | None = None  # noqa: N815
    history: list[HistoryEntry] | None = None
    links: Links


class TransactionPage(BaseModel):
    items: list[TransactionView]
    nextCursor: str | None = None  # noqa: N815


_PROBLEM = {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}}
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {401: _PROBLEM, 500: _PROBLEM}


# -- helpers -------------------------------------------------------------------------------------


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing (413) anything over ``limit`` bytes before or while reading it."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ProblemError(400, "bad-content-length", "the Content-Length header is not a number")
        if int(length) > limit:
            raise ProblemError(413, "too-large", f"the body is larger than the limit of {limit} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise ProblemError(415, "unsupported-media-type", "send the request as application/json")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError(413, "too-large", f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProblemError(
            400, "invalid-json", "the body is not valid JSON", errors=[Problem("", "is not valid JSON")]
        ) from None


def _claim_kind(data: object) -> Literal["professional", "institutional"]:
    """Institutional when the claim carries fields only an 837I has; professional otherwise."""
    info = data.get("claimInformation") if isinstance(data, Mapping) else None
    if isinstance(info, Mapping):
        if "claimCodeInformation" in info or "principalDiagnosis" in info:
            return "institutional"
        lines = info.get("serviceLines")
        if isinstance(lines, list) and any(isinstance(x, Mapping) and "institutionalService" in x for x in lines):
            return "institutional"
    return "professional"


def _correlation(data: Mapping[str, Any]) -> Correlation:
    info = data.get("claimInformation")
    pcn = info.get("patientControlNumber") if isinstance(info, Mapping) else None
    try:
        return Correlation(control_number=data.get("controlNumber"), patient_control_number=pcn)
    except ValueError:  # validated requests fit; a key that does not is simply not recorded
        return Correlation()


def _self(transaction_id: str) -> str:
    return f"/transactions/{transaction_id}"


def _accepted(record: TransactionRecord) -> dict[str, Any]:
    return {"id": record.id, "state": record.state.value, "links": {"self": _self(record.id)}}


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _view(record: TransactionRecord, history: list[Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind.value,
        "state": record.state.value,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
        "controlNumber": record.correlation.control_number,
        # CLM01 is PHI-ish and stored only as a digest: lists give null, GET /transactions/{id}
        # (an audited read) fills it in from the encrypted request.
        "patientControlNumber": record.correlation.patient_control_number,
    }
    if history is not None:
        view["history"] = [
            {
                "state": event.to_state.value,
                "from": event.from_state.value if event.from_state else None,
                "at": _iso(event.at),
                "detail": event.detail_code,
            }
            for event in history
        ]
    view["links"] = {"self": _self(record.id)}
    return view


def _choices(values: list[str] | None, enum: type[Any], name: str) -> frozenset[Any] | None:
    """Repeated and/or comma-separated enum values from the query string; 400 for unknown ones."""
    if not values:
        return None
    words = [word.strip() for value in values for word in value.split(",") if word.strip()]
    allowed = {member.value: member for member in enum}
    unknown = [word for word in words if word not in allowed]
    if unknown:
        raise ProblemError(400, "invalid-parameters", f"unknown {name} value(s)",
                           errors=[Problem(name, f"must be one of {', '.join(allowed)}")])
    return frozenset(allowed[word] for word in words) or None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _request_schemas() -> dict[str, Any]:
    """JSON schemas of the request models, as OpenAPI components."""
    components: dict[str, Any] = {}
    for model in (EligibilityRequest, ProfessionalClaimRequest, InstitutionalClaimRequest):
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def _body(*refs: str, array: bool = False) -> dict[str, Any]:
    one = {"oneOf": [{"$ref": f"#/components/schemas/{ref}"} for ref in refs]} if len(refs) > 1 else {
        "$ref": f"#/components/schemas/{refs[0]}"
    }
    schema = {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}]} if array else one
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# -- the app -------------------------------------------------------------------------------------


def create_app(
    repository: Repository,
    payload_store: PayloadStore,
    submitters_auth: Mapping[str, str],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_claims: int = MAX_CLAIMS_PER_TRANSACTION,
    pipeline: Pipeline | None = None,
    realtime: bool = True,
    core_options: Mapping[str, Any] | None = None,
    store_threads: int = DEFAULT_STORE_THREADS,
    realtime_threads: int = DEFAULT_REALTIME_THREADS,
    verifier: TokenVerifier | None = None,
    token_issuer: TokenIssuer | None = None,
    oauth_clients: ClientRegistry | None = None,
    cors: Sequence[str] | None = None,
) -> FastAPI:
    """The API over one repository and payload store; ``submitters_auth`` maps sha256(key) -> submitter.

    With a ``pipeline`` accepted requests are handed to the stages (committed with the translate
    message), and with ``realtime`` an eligibility request is driven through translation and the
    partner's CORE endpoint inside the request: the caller gets the 271 JSON (200) within the
    CORE time budget, or 202 with the transaction id when the partner cannot answer in time --
    the stages then finish the request and call back. ``core_options`` are the CORE clients'
    options (``connectors.core.client.CoreClient``: retry, breakers, ...), the same the workers'
    ``PipelineRunner(core_options=...)`` takes.
    """
    core = ClientPool(**(core_options or {})) if pipeline is not None and realtime else None
    # Store work (SQL, encryption, X12) runs in worker threads, at most `store_threads` at once:
    # more threads than the database pool has connections only queue there, and each extra
    # runnable thread makes the GIL change hands more often.
    limiter = anyio.CapacityLimiter(store_threads)
    # Real-time eligibility has a lane of its own (see DEFAULT_REALTIME_THREADS): requests that
    # wait for a payer are not queued behind a large claims batch, nor slowed by many threads.
    realtime_lane = anyio.CapacityLimiter(realtime_threads)

    async def to_store(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)

    async def to_realtime(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=realtime_lane)

    auth = {key.lower(): submitter for key, submitter in submitters_auth.items()}
    audit = AuditLog(repository.engine)
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if core is not None:  # its HTTP sessions belong to this event loop: closed on it
            await core.aclose()

    app = FastAPI(
        title="EDI engine",
        version="1",
        description="Eligibility (270/271) and claims (837P/837I) as JSON. Errors are RFC 9457 problems.",
        lifespan=lifespan,
    )
    allow_origins(app, cors_origins() if cors is None else cors)  # no CORS unless EDI_API_CORS_ORIGINS

    # errors ----------------------------------------------------------------------------------

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, error: ProblemError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            Problem(".".join(str(part) for part in item.get("loc", ())[1:]), str(item.get("msg", "is not valid")))
            for item in error.errors()
        ]
        return problem_response(400, "invalid-parameters", "some parameters are not valid", errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else "the request failed"
        return problem_response(error.status_code, "http-error", detail, headers=error.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected error in the API: %s", type(error).__name__)
        return problem_response(500, "internal-error", "an unexpected error occurred; try again later")

    # authentication --------------------------------------------------------------------------

    if verifier is not None:
        install_auth(app, verifier, issuer=token_issuer, clients=oauth_clients)
        # Reports need audit:read, which only an access token carries (never an API key).
        app.include_router(reports_router(repository.engine, payload_store))
    bearer = HTTPBearer(auto_error=False, description="OAuth2 access token or API key as a bearer token")
    api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")

    def caller_for(scope: Scope) -> Callable[..., str]:
        """The dependency giving the submitter a route acts for, if the caller may use ``scope``."""
        token_check = require_scope(scope.value)

        def caller(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
            api_key: Annotated[str | None, Depends(api_key_header)],
        ) -> str:
            key = credentials.credentials if credentials is not None else api_key
            challenge = {"WWW-Authenticate": "Bearer"}
            if not key:
                raise ProblemError(
                    401, "unauthenticated", "send an access token or API key in Authorization: Bearer, or X-API-Key",
                    headers=challenge,
                )
            if credentials is not None and verifier is not None and _JWT.fullmatch(key):
                return token_check(request, credentials).submitter_id
            submitter = auth.get(hash_api_key(key))
            if submitter is None:
                raise ProblemError(401, "unauthenticated", "the API key is not known", headers=challenge)
            if scope not in API_KEY_SCOPES:
                raise ProblemError(403, "insufficient-scope", f"an API key does not grant {scope.value!r}; "
                                   "use an access token with that scope", title="Forbidden")
            return submitter

        return caller

    EligibilityWriter = Annotated[str, Depends(caller_for(Scope.ELIGIBILITY_WRITE))]
    ClaimsWriter = Annotated[str, Depends(caller_for(Scope.CLAIMS_WRITE))]
    Reader = Annotated[str, Depends(caller_for(Scope.TRANSACTIONS_READ))]
    IdempotencyKey = Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="retry-safe key: same key and body, same answer"),
    ]

    # accepting requests ----------------------------------------------------------------------

    def record(
        submitter: str, kind: Kind, request_kind: str, data: dict[str, Any], key: str | None, body_sha: str
    ) -> TransactionRecord:
        """Store one valid request encrypted, record it and move it to validated (idempotently)."""
        if pipeline is not None:
            try:
                transaction, _created = intake.accept(
                    pipeline, submitter_id=submitter, request_kind=request_kind,  # type: ignore[arg-type]
                    data=data, idempotency_key=key, request_sha256=body_sha, actor=ACTOR,
                    route=not (realtime and kind is Kind.ELIGIBILITY),
                )
            except IdempotencyConflictError:
                raise ProblemError(
                    409, "idempotency-conflict", "the Idempotency-Key was already used with a different request body"
                ) from None
            return transaction
        stored = payload_store.put(_canonical(data))
        new = NewTransaction(
            submitter_id=submitter, kind=kind, idempotency_key=key,
            request_sha256=body_sha if key else None, correlation=_correlation(data),
        )
        attachment = PayloadAttachment(PayloadKind.REQUEST_JSON, stored, _DOCUMENT_TYPES[request_kind])
        try:
            result = repository.create(new, actor=ACTOR, attach=[attachment])
        except IdempotencyConflictError:
            payload_store.delete(stored.uri)
            raise ProblemError(
                409, "idempotency-conflict", "the Idempotency-Key was already used with a different request body"
            ) from None
        except BaseException:
            payload_store.delete(stored.uri)
            raise
        if not result.created:
            payload_store.delete(stored.uri)
        transaction = result.transaction
        if transaction.state is State.RECEIVED:  # new, or a replay of one cut short before validation
            try:
                transaction = repository.transition(transaction.id, State.VALIDATED, actor=ACTOR, expected=State.RECEIVED)
            except UnexpectedStateError:
                transaction = repository.require(transaction.id, submitter_id=submitter)
        return transaction

    def accept(
        submitter: str, kind: Kind, items: list[tuple[str, dict[str, Any]]], key: str | None, body_sha: str
    ) -> list[TransactionRecord]:
        if pipeline is not None and kind is Kind.CLAIM and key is None:  # one commit for the whole array
            accepted = intake.accept_many(pipeline, submitter_id=submitter, actor=ACTOR, items=[
                intake.Request(request_kind, data) for request_kind, data in items  # type: ignore[arg-type]
            ])
            return [transaction for transaction, _created in accepted]
        return [
            record(submitter, kind, request_kind, data, None if key is None else key if i == 0 else f"{key}#{i}", body_sha)
            for i, (request_kind, data) in enumerate(items)
        ]

    def check_key(key: str | None) -> str | None:
        """The key as the store keeps it: its keyed digest (``edi.lookup``). Clients choose their
        keys and some build them from what they have at hand (a member id, a file name): the
        column must not hold them, only match them."""
        if key is None:
            return None
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise ProblemError(
                400, "invalid-idempotency-key", "the Idempotency-Key must be 1-200 printable ASCII characters",
                errors=[Problem("Idempotency-Key", "must be 1-200 printable ASCII characters without spaces")],
            )
        return "api:" + repository.lookup_key.digest("api-idempotency", key)

    def invalid(problems: list[Problem]) -> ProblemError:
        return ProblemError(
            400, "validation-failed", f"the request has {len(problems)} problem(s); fix them all and resubmit",
            title="The request did not pass validation", errors=problems,
        )

    @app.post(
        "/eligibility",
        status_code=202,
        response_model=Accepted,
        responses={400: _PROBLEM, 409: _PROBLEM, 413: _PROBLEM, **_COMMON_ERRORS},
        openapi_extra=_body("EligibilityRequest"),
        summary="Check eligibility (270); answers 202 with the transaction id",
    )
    async def post_eligibility(request: Request, submitter: EligibilityWriter, key: IdempotencyKey = None) -> JSONResponse:
        key = check_key(key)
        data = await _read_json(request, max_body_bytes)
        model, problems = validate_request("eligibility", data)
        if problems:
            raise invalid(problems)
        body_sha = hashlib.sha256(b"eligibility\n" + _canonical(data)).hexdigest()

        def accept_and_prepare() -> tuple[TransactionRecord, RealtimeSend | None]:
            # One trip to a store thread for everything before the CORE call: each trip costs a
            # thread hand-off and a wake-up of the event loop, per request, under load.
            if pipeline is not None and core is not None:
                try:  # one commit from received to sent (edi.pipeline.express)
                    send = express.prepare(pipeline, submitter_id=submitter, request=model, data=data, actor=ACTOR,
                                           idempotency_key=key, request_sha256=body_sha)
                except IdempotencyConflictError:
                    raise ProblemError(409, "idempotency-conflict",
                                       "the Idempotency-Key was already used with a different request body") from None
                if send is not None:
                    return send.transaction, send
            [accepted] = accept(submitter, Kind.ELIGIBILITY, [("eligibility", data)], key, body_sha)
            if pipeline is None or core is None:
                return accepted, None
            return accepted, _prepare_send(pipeline, accepted)

        transaction, send = await to_realtime(accept_and_prepare)
        if pipeline is not None and core is not None:
            answered = await _answer_now(pipeline, core, send, to_realtime) if send is not None else None
            if answered is not None:
                body, payer_seconds = answered
                # Server-Timing lets a caller (and the benchmark) tell the payer's time from ours.
                headers = {"Location": _self(transaction.id), "Server-Timing": f"core;dur={payer_seconds * 1000:.1f}"}
                return JSONResponse(body, status_code=200, headers=headers)
            transaction = await to_realtime(repository.require, transaction.id, submitter_id=submitter)
        return JSONResponse(_accepted(transaction), status_code=202, headers={"Location": _self(transaction.id)})

    @app.post(
        "/claims",
        status_code=202,
        response_model=Accepted | AcceptedBatch,
        responses={400: _PROBLEM, 409: _PROBLEM, 413: _PROBLEM, **_COMMON_ERRORS},
        openapi_extra=_body("ProfessionalClaimRequest", "InstitutionalClaimRequest", array=True),
        summary="Submit one claim or an array of claims (837P/837I); answers 202 with the transaction id(s)",
    )
    async def post_claims(request: Request, submitter: ClaimsWriter, key: IdempotencyKey = None) -> JSONResponse:
        key = check_key(key)
        data = await _read_json(request, max_body_bytes)
        batch = isinstance(data, list)
        claims = data if batch else [data]
        if batch and not claims:
            raise invalid([Problem("", "must have at least 1 item(s)")])
        if len(claims) > max_claims:
            raise invalid([Problem("", f"at most {max_claims} claims per request (got {len(claims)}): split the batch")])
        problems: list[Problem] = []
        items: list[tuple[str, dict[str, Any]]] = []
        for index, claim in enumerate(claims):
            request_kind = _claim_kind(claim)
            _model, found = validate_request(request_kind, claim)
            for problem in found:
                if batch:
                    suffix = problem.path if problem.path.startswith("[") or not problem.path else f".{problem.path}"
                    problem = Problem(f"[{index}]{suffix}", problem.message)
                problems.append(problem)
            items.append((request_kind, claim))
        if problems:
            raise invalid(problems)
        body_sha = hashlib.sha256(b"claims\n" + _canonical(data)).hexdigest()
        transactions = await to_store(accept, submitter, Kind.CLAIM, items, key, body_sha)
        if batch:
            return JSONResponse({"transactions": [_accepted(t) for t in transactions]}, status_code=202)
        return JSONResponse(_accepted(transactions[0]), status_code=202, headers={"Location": _self(transactions[0].id)})

    # reading transactions --------------------------------------------------------------------

    @app.get(
        "/transactions/{transaction_id}",
        response_model=TransactionView,
        responses={404: _PROBLEM, **_COMMON_ERRORS},
        summary="One of the caller's transactions: state, kind and timestamped history",
    )
    def get_transaction(transaction_id: str, submitter: Reader) -> JSONResponse:
        transaction = repository.get(transaction_id, submitter_id=submitter) if CURSOR.fullmatch(transaction_id) else None
        if transaction is None:
            if _AUDITABLE_ID.fullmatch(transaction_id):  # someone else's id, or none: kept, as probing
                audit.record(phi_read(f"api:{submitter}", transaction_id, outcome="not-found", submitter_id=submitter))
            raise ProblemError(404, "not-found", "no such transaction")
        history = repository.history(transaction_id, submitter_id=submitter)
        view = _view(transaction, history)
        view["responses"], pcn = _documents(repository, payload_store, transaction_id, submitter)
        if pcn is not None:
            view["patientControlNumber"] = pcn
        # The responses hold PHI: who read them goes on the audit trail before they leave.
        audit.record(phi_read(f"api:{submitter}", transaction_id, submitter_id=submitter,
                              partner_id=transaction.partner_id))
        return JSONResponse(view)

    @app.get(
        "/transactions",
        response_model=TransactionPage,
        responses={400: _PROBLEM, **_COMMON_ERRORS},
        summary="The caller's transactions, newest first, filtered and paged",
    )
    def list_transactions(
        submitter: Reader,
        state: Annotated[list[str] | None, Query(description="one or more states (repeat or comma-separate)")] = None,
        kind: Annotated[list[str] | None, Query(description="eligibility and/or claim (repeat or comma-separate)")] = None,
        since: Annotated[datetime | None, Query(description="created at or after (ISO 8601; UTC if no zone)")] = None,
        until: Annotated[datetime | None, Query(description="created before (ISO 8601; UTC if no zone)")] = None,
        cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> JSONResponse:
        if cursor is not None and not CURSOR.fullmatch(cursor):
            raise ProblemError(400, "invalid-parameters", "the cursor is not valid",
                               errors=[Problem("cursor", "is not a cursor this API returned")])
        where = TransactionFilter(
            submitter_id=submitter,
            states=_choices(state, State, "state"),
            kinds=_choices(kind, Kind, "kind"),
            created_from=_utc(since),
            created_to=_utc(until),
        )
        page = repository.list_transactions(where, limit=limit, cursor=cursor)
        return JSONResponse({"items": [_view(t) for t in page.items], "nextCursor": page.next_cursor})

    # OpenAPI: the request models as components ------------------------------------------------

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(_request_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.pipeline = pipeline
    return app


def _documents(repository: Repository, payload_store: PayloadStore, transaction_id: str,
               submitter: str) -> tuple[list[Any], str | None]:
    """The response documents of a transaction (271, 999, 277CA, 835, rejections), oldest first,
    and a claim's CLM01 from its request (the store holds only a digest of it)."""
    out, pcn = [], None
    for record in repository.payloads(transaction_id, submitter_id=submitter):
        if record.kind is PayloadKind.RESPONSE_JSON:
            body = json.loads(payload_store.get(record.uri, sha256=record.sha256))
            out.append({"type": body.get("type"), "at": body.get("timestamp"), **body.get("data", {})})
        elif record.kind is PayloadKind.REQUEST_JSON and record.document_type in ("837P", "837I"):
            request = json.loads(payload_store.get(record.uri, sha256=record.sha256))
            info = request.get("claimInformation") if isinstance(request, dict) else None
            found = info.get("patientControlNumber") if isinstance(info, dict) else None
            pcn = found if isinstance(found, str) and found else None
    return out, pcn


def _prepare_send(pipeline: Pipeline, transaction: TransactionRecord) -> RealtimeSend | None:
    """The 270 of a new eligibility request, written and marked sent; None when there is nothing
    to send now (an idempotent replay, a rejected request): the caller then answers 202."""
    if transaction.state is State.DELIVERED:  # an idempotent replay of an answered request
        return None
    if transaction.state is State.VALIDATED:
        outcome = translate(pipeline, transaction.id, hold=True)
        if outcome.transaction.state is not State.QUEUED:
            return None
    return begin_realtime(pipeline, transaction.id)


async def _answer_now(
    pipeline: Pipeline, core: ClientPool, send: RealtimeSend, to_store: Callable[..., Awaitable[Any]]
) -> tuple[dict[str, Any], float] | None:
    """The 271 of a request marked sent, inside the HTTP request: (271 JSON, seconds the CORE
    exchange took), or None (answer 202: the stages finish it)."""
    try:
        result = await core.async_(send).send_270(send.x12)
    except (CoreClientError, CoreEnvelopeError) as error:
        await to_store(settle, pipeline, send, None, error)
        return None
    except BaseException:
        # Cancelled (client gone, shutdown): the outcome is unknown, so the 270 is not sent again;
        # the stages fail it once the CORE budget has passed.
        raise
    _record, body = await to_store(settle, pipeline, send, result, None, delivered_inline=True)
    if not body:
        return None
    return {"type": body.get("type"), **body.get("data", {})}, result.elapsed
