"""Structured JSON logs for every process, with PHI kept out by design.

One line of JSON per event (``timestamp``, ``level``, ``logger``, ``event`` and the event's
fields), from the stdlib ``logging`` calls the code base makes and from structlog loggers alike:
``configure_logging()`` puts structlog's ``ProcessorFormatter`` on the root handler, so both go
through the same processors.

PHI is kept out in three layers, because one is never enough:

1. By convention, log calls carry ids, codes and counts only (transaction id, partner id,
   control numbers, error codes), never names, member ids, dates of birth or addresses.
2. `redact_phi` masks every field whose *name* says PHI (``first_name``, ``memberId``,
   ``dob``, ``address``, ``patient``, ...), at any depth of nested dicts and lists, including
   stdlib ``extra=`` fields.
3. A guard masks *values* that look like PHI wherever they appear -- in the message, in any
   field, in exception texts: X12 segments (``NM1*IL*1*DOE*JOHN``), dates (a date of birth looks
   like any date), SSNs, phone numbers, e-mail addresses, street addresses, ``'member_id': ...``
   pairs in printed dicts, pydantic's ``input_value=...``, and quoted values in exception
   messages (where ``KeyError('DOE')`` would otherwise leak). Tracebacks keep their file/line
   frames, so they stay useful.

``httpx`` and ``httpcore`` are set to WARNING: at INFO they log every request URL; so are the
other libraries in ``QUIET_LOGGERS`` (request bodies, object keys, file paths -- a submitter's file
name may be PHI, and no value guard can tell ``smith_john_19800101.csv`` from any other name).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["MASK", "PHI_KEYS", "configure_logging", "get_logger", "mask_text", "redact_phi"]

MASK = "[redacted]"

# Field names (lower case, without separators) that hold PHI; a field whose normalised name
# contains any of the PHI_FRAGMENTS is masked too (``subscriberFirstName``, ``patient_dob``).
PHI_KEYS = frozenset({
    "name", "names", "firstname", "lastname", "middlename", "fullname", "givenname", "familyname", "suffix",
    "memberid", "subscriberid", "patientid", "insuredid", "mrn", "medicalrecordnumber", "ssn",
    "socialsecuritynumber", "dob", "dateofbirth", "birthdate", "birthday", "gender", "sex",
    "address", "address1", "address2", "addressline1", "addressline2", "street", "city", "zip",
    "zipcode", "postalcode", "phone", "phonenumber", "telephone", "email", "emailaddress", "fax",
    "patientcontrolnumber", "accountnumber", "payload", "body", "x12", "segment", "segments", "content",
    "request", "response", "subscriber", "patient", "dependent", "insured", "member",
})
PHI_FRAGMENTS = ("name", "birth", "dob", "ssn", "address", "street", "phone", "email", "memberid", "subscriber",
                 "patient", "dependent", "insured", "postal", "zipcode")
# Fields the logging machinery itself writes: never masked by name (their values are still guarded).
STRUCTURAL_KEYS = frozenset({"timestamp", "level", "logger", "event", "exception", "stack", "process",
                             "process_name", "thread", "thread_name", "filename", "func_name", "lineno",
                             "module", "pathname", "service"})


def _normal(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _phi_key(key: object) -> bool:
    if not isinstance(key, str) or key in STRUCTURAL_KEYS:
        return False
    name = _normal(key)
    return name in PHI_KEYS or any(fragment in name for fragment in PHI_FRAGMENTS)


_KEY_ALTERNATION = "|".join(sorted({re.escape(k) for k in (
    "member_id", "memberId", "subscriber_id", "subscriberId", "patient_id", "first_name", "firstName", "last_name",
    "lastName", "middle_name", "name", "dob", "date_of_birth", "dateOfBirth", "birth_date", "birthDate", "ssn",
    "address", "address1", "address2", "street", "city", "zip", "postal_code", "postalCode", "phone", "email",
)}, key=len, reverse=True))

_GUARDS: list[tuple[re.Pattern[str], str]] = [
    # key/value pairs inside printed dicts, reprs or query strings
    (re.compile(rf"""(?i)(["']?\b(?:{_KEY_ALTERNATION})\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}}\])]+)"""),
     rf"\g<1>{MASK}"),
    # pydantic: input_value='DOE'
    (re.compile(r"""(input_value=)("[^"]*"|'[^']*'|[^,\]\)]+)"""), rf"\g<1>{MASK}"),
    # X12 segments: a segment id then element separators (NM1*IL*1*DOE*JOHN~, DMG*D8*19610714)
    (re.compile(r"\b[A-Z][A-Z0-9]{1,2}[*|^~][^\s~]*~?"), MASK),
    # dates: 1961-07-14, 19610714, 07/14/1961
    (re.compile(r"\b(?:1[89]|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])\b"), MASK),
    (re.compile(r"\b(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})\b"), MASK),
    # SSN, phone, e-mail
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), MASK),
    (re.compile(r"(?:\+?1[-. ]?)?\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b"), MASK),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), MASK),
    # street addresses: a number, words, a street type
    (re.compile(r"(?i)\b\d{1,6}\s+(?:[a-z0-9.'-]+\s+){1,5}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|"
                r"drive|dr|court|ct|way|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy)\b\.?"), MASK),
]
_QUOTED = re.compile(r"""'[^'\n]*'|"[^"\n]*\"""")


def mask_text(text: str) -> str:
    """``text`` with everything that looks like PHI masked (see the module docstring)."""
    for pattern, replacement in _GUARDS:
        text = pattern.sub(replacement, text)
    return text


def _mask_exception(text: str) -> str:
    """Exception texts: frames (``File "...", line N``) are kept; every other line is guarded and
    its quoted values masked, since exception messages quote the values they choke on."""
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith('File "'):
            lines.append(line)
        else:
            lines.append(_QUOTED.sub(f"'{MASK}'", mask_text(line)))
    return "\n".join(lines)


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: (MASK if _phi_key(k) else _redact(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(v, depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(repr(value))  # objects: their repr, guarded


def redact_phi(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask PHI fields by name and PHI-looking values everywhere."""
    for key in list(event_dict):
        value = event_dict[key]
        if key == "timestamp":
            continue
        if key in ("exception", "stack") and isinstance(value, str):
            event_dict[key] = _mask_exception(value)
        elif _phi_key(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact(value)
    return event_dict


_HANDLER_NAME = "edi-json"
# Libraries that log request URLs or bodies below WARNING (botocore logs whole request bodies at
# DEBUG; watchdog logs the path of every file event, and a submitter's file name may be PHI):
# held at WARNING whatever the level asked for.
QUIET_LOGGERS = ("httpx", "httpcore", "botocore", "boto3", "s3transfer", "urllib3", "asyncssh", "stomp.py", "amqp",
                 "watchdog")


def configure_logging(level: int | str = "INFO", *, stream: TextIO | None = None, service: str | None = None) -> None:
    """JSON logs with PHI redaction on the root logger (idempotent: replaces its own handler)."""
    pre_chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if service:
        pre_chain.append(lambda _l, _m, event: {**event, "service": service})
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *pre_chain,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*pre_chain, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_phi,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (keyword fields: ids, codes and counts only)."""
    return structlog.get_logger(name)
