"""Trading partners and submitters, read from one YAML file.

Every value that differs from partner to partner (who we are to them and who they are to us in
the ISA and GS, test or production, separators, which transactions go to them and how, how claims
are batched) lives in configuration, not in code, so that adding a payer is an edit of this file.
Submitters (the systems sending us requests) are configured in the same file: where their answers
go and with which secret they are signed.

Rules this module enforces:

* Secrets are given **by reference only**: ``{env: NAME}`` or ``{file: path}``. An inline string
  where a secret belongs is an error, and no message ever repeats a configured value; a secret that
  cannot be resolved is reported by its reference (`MissingSecretError`), never by content.
* Errors name their place in the YAML (``partners.acme.transport.core_soap.url``, with line and
  column) so the file can be fixed without reading a traceback (`PartnersConfigError`).
* Relative paths (secret files, TLS files, SSH keys, outbound folders) are relative to the YAML
  file, so a configuration directory can be moved as a whole.

The file is read with `load_partners` (a path, or the ``EDI_PARTNERS_FILE`` environment
variable); `TradingPartner.envelope` builds the `edi.mappers.envelope.Envelope` for a partner from
control numbers handed in by the caller (the persistent per-partner sequences live elsewhere).

Layout (all keys snake_case)::

    partners:
      acme:                                # partner id
        name: ACME Health
        payer_ids: ["841610001"]           # tradingPartnerServiceId values routed here
        interchange:
          sender_qualifier: ZZ             # ISA05
          sender_id: SUBMITTER01           # ISA06
          receiver_qualifier: ZZ           # ISA07
          receiver_id: ACME                # ISA08
          application_sender: SUBMITTER01  # GS02 (default ISA06)
          application_receiver: ACME       # GS03 (default ISA08)
          usage: T                         # ISA15
          ack_requested: "0"               # ISA14
        delimiters: {element: "*", component: ":", repetition: "^", segment: "~", line_break: "\\n"}
        transactions: ["270", "837P", "837I"]
        transport:
          core_soap: {url: ..., sender_id: ..., receiver_id: ..., timeout_seconds: 20,
                      tls: {verify: true, ca_bundle: ..., client_cert: ..., client_key: ...},
                      username: {env: ACME_CORE_USER}, password: {env: ACME_CORE_PASSWORD},
                      circuit_breaker: {failure_threshold: 5, open_seconds: 30, half_open_trials: 1}}
          sftp: {host: ..., port: 22, username: ..., private_key: {file: keys/acme}, known_hosts: ...,
                 inbound_dir: /inbound, outbound_dir: /outbound, poll_interval_seconds: 60}
        batch: {max_claims_per_transaction_set: 5000, max_claims_per_file: 20000, window_seconds: 60}
    submitters:
      clinic-a:
        name: Clinic A
        callback_url: https://hooks.clinic-a.example/edi
        signing_secret: {env: CLINIC_A_WEBHOOK_SECRET}
        allowed_callback_hosts: [hooks.clinic-a.example]
        reply_queue: clinic-a.responses
        pgp: {public_key: {file: keys/clinic-a.asc}, fingerprint: 0123...CDEF,   # also under a partner
              require_signature: true, armor: true}
        doors:                             # ingest doors besides the API (connectors.ingest)
          folder: {root: drop/clinic-a}    # inbound/ outbound/ archive/ ... below it
          sftp: {username: clinic-a, password_hash: "scrypt$...", authorized_keys: keys/clinic-a.pub}
          s3: {bucket: edi-drop, prefix: submitters/clinic-a, sqs_queue: edi-drop-events}
          amqp: {queue: clinic-a.requests}
          jms: {queue: /queue/clinic-a.requests}
          mappings: [mappings/clinic-a-roster.yaml]   # CSV / fixed-width column mappings
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edi.auth.clients import OAuthClient
from edi.delivery import CallbackConfig
from edi.mappers.envelope import Envelope
from edi.x12.delimiters import Delimiters

__all__ = [
    "BatchSettings",
    "CircuitBreakerSettings",
    "ConfigIssue",
    "ControlNumbers",
    "CoreSoapTransport",
    "DelimiterSettings",
    "InterchangeSettings",
    "MissingSecretError",
    "PARTNERS_FILE_ENV",
    "PartnersConfig",
    "PartnersConfigError",
    "PgpSettings",
    "SecretRef",
    "SftpTransport",
    "Submitter",
    "TlsSettings",
    "TradingPartner",
    "Transaction",
    "TransportKind",
    "TransportSettings",
    "load_partners",
    "parse_partners",
]

PARTNERS_FILE_ENV = "EDI_PARTNERS_FILE"

#: Most claims one 837 transaction set may carry (005010X222A1 / X223A2, 1.4.1 "Batch").
MAX_CLAIMS_PER_TRANSACTION_SET = 5000
#: Largest ISA13 / GS06 / ST02 value (nine digits).
MAX_CONTROL_NUMBER = 999_999_999

#: ISA05 / ISA07 interchange id qualifiers of 005010 (code list I05).
IdQualifier = Literal["01", "14", "20", "27", "28", "29", "30", "33", "ZZ"]

_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARTNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")

Id15 = Annotated[str, StringConstraints(min_length=1, max_length=15, pattern=r"^[\x20-\x7e]*\S[\x20-\x7e]*$")]
AppCode = Annotated[str, StringConstraints(min_length=2, max_length=15, pattern=r"^[\x20-\x7e]+$")]
PartnerId = Annotated[str, StringConstraints(pattern=_PARTNER_ID.pattern)]


class MissingSecretError(LookupError):
    """A secret reference that resolves to nothing. The message names the reference only."""

    def __init__(self, reference: str, reason: str) -> None:
        self.reference = reference
        super().__init__(f"secret {reference} {reason}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _base_dir(info: ValidationInfo) -> Path | None:
    context = info.context if isinstance(info.context, Mapping) else None
    base = context.get("base_dir") if context else None
    return Path(base) if base is not None else None


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    value = Path(os.path.expanduser(str(value)))
    base = _base_dir(info)
    if not value.is_absolute() and base is not None:
        value = base / value
    return value


class SecretRef(_Model):
    """Where a secret is read from: exactly one of an environment variable or a file."""

    env: str | None = Field(default=None, description="Name of an environment variable holding the secret")
    file: Path | None = Field(
        default=None, description="Path of a file holding the secret (relative to the YAML)"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            # The value is deliberately not repeated: it may be the secret itself.
            raise ValueError("secrets are given by reference, {env: NAME} or {file: path}, never inline")
        return data

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("not an environment variable name")
        return value

    @field_validator("file")
    @classmethod
    def _file_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    @property
    def reference(self) -> str:
        """The reference as text, for messages (``env:NAME`` or ``file:/path``): never the value."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret's value. A file's trailing line break is dropped. Raises `MissingSecretError`."""
        if self.env is not None:
            env = os.environ if environ is None else environ
            value = env.get(self.env)
            if value is None or value == "":
                raise MissingSecretError(self.reference, "is not set")
            return value
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise MissingSecretError(self.reference, "does not exist") from None
        except OSError as error:
            raise MissingSecretError(self.reference, f"cannot be read ({type(error).__name__})") from None
        except UnicodeDecodeError:
            raise MissingSecretError(self.reference, "is not UTF-8 text") from None
        value = text.rstrip("\r\n")
        if not value:
            raise MissingSecretError(self.reference, "is empty")
        return value

    def __repr__(self) -> str:
        return f"SecretRef({self.reference})"


class PgpSettings(_Model):
    """OpenPGP for the files exchanged with one submitter or partner (``connectors.pgp``).

    Their public key is imported only if it is the key of `fingerprint`, so a swapped key file
    is caught at start-up; inbound files must be signed by that key (unless `require_signature`
    is off), outbound files are encrypted to it and signed by us."""

    public_key: SecretRef  # {file: keys/clinic-a.asc} or {env: NAME}: armored or binary public key
    fingerprint: Annotated[str, StringConstraints(min_length=40, max_length=80)]
    require_signature: bool = True
    armor: bool = True  # outbound files as ASCII armor (.pgp either way); False: binary

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        fpr = value.replace(" ", "").upper()
        if not re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", fpr):
            raise ValueError("a key fingerprint is 40 (v4) or 64 (v5) hexadecimal digits")
        return fpr


class Usage(StrEnum):
    TEST = "T"
    PRODUCTION = "P"


class Transaction(StrEnum):
    """What a partner takes from us, and so which transport carries it."""

    ELIGIBILITY_270 = "270"  # real time, one by one
    PROFESSIONAL_837P = "837P"  # batch
    INSTITUTIONAL_837I = "837I"  # batch

    @property
    def real_time(self) -> bool:
        return self is Transaction.ELIGIBILITY_270


class TransportKind(StrEnum):
    CORE_SOAP = "core-soap"
    SFTP = "sftp"


class InterchangeSettings(_Model):
    """The ISA and GS identities of an interchange we send to the partner."""

    sender_qualifier: IdQualifier = "ZZ"  # ISA05
    sender_id: Id15  # ISA06
    receiver_qualifier: IdQualifier = "ZZ"  # ISA07
    receiver_id: Id15  # ISA08
    application_sender: AppCode | None = None  # GS02, default ISA06
    application_receiver: AppCode | None = None  # GS03, default ISA08
    usage: Usage = Usage.PRODUCTION  # ISA15
    ack_requested: Literal["0", "1"] = "0"  # ISA14: TA1 requested

    @property
    def gs02(self) -> str:
        return self.application_sender or self.sender_id.strip()

    @property
    def gs03(self) -> str:
        return self.application_receiver or self.receiver_id.strip()


class DelimiterSettings(_Model):
    """The separators the partner reads. Each is one character, all differ, none is a letter,
    digit or space (those occur in data)."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    line_break: Literal["", "\n", "\r\n"] = "\n"

    @field_validator("element", "component", "repetition", "segment")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("a separator is exactly one character")
        if value.isalnum() or value == " ":
            raise ValueError("a separator may not be a letter, a digit or a space")
        if not (value.isprintable() or value in "\x1c\x1d\x1e\x1f\x07\x0b\x0c"):
            raise ValueError(
                "a separator must be printable or one of the control characters FS GS RS US BEL VT FF"
            )
        return value

    @model_validator(mode="after")
    def _distinct(self) -> DelimiterSettings:
        chars = [self.element, self.component, self.repetition, self.segment]
        if len(set(chars)) != 4:
            raise ValueError("element, component, repetition and segment separators must all differ")
        return self

    def to_delimiters(self) -> Delimiters:
        return Delimiters(self.element, self.component, self.repetition, self.segment, self.line_break)


class TlsSettings(_Model):
    verify: bool = True
    ca_bundle: Path | None = None  # trust these CAs instead of the system store
    client_cert: Path | None = None  # mutual TLS: our certificate (PEM)
    client_key: Path | None = None  # and its key (PEM); may be inside client_cert

    @field_validator("ca_bundle", "client_cert", "client_key")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _key_needs_cert(self) -> TlsSettings:
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key is given without client_cert")
        return self


class CircuitBreakerSettings(_Model):
    """When to stop calling a partner that keeps failing, and for how long.

    Partners differ: a payer that deploys with a minute of 503s wants a longer open time than one
    whose rare blips last a second, and a real-time caller should not wait 20 s on either. After
    ``failure_threshold`` consecutive failures calls fail fast for ``open_seconds``; then
    ``half_open_trials`` trial calls decide whether the circuit closes again.
    """

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    open_seconds: float = Field(default=30.0, gt=0, le=3600)
    half_open_trials: int = Field(default=1, ge=1, le=100)


class CoreSoapTransport(_Model):
    """CAQH CORE Connectivity rule vC2.2.0 real-time SOAP endpoint of the partner."""

    url: AnyHttpUrl
    sender_id: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_PRINTABLE.pattern)]
    receiver_id: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_PRINTABLE.pattern)]
    timeout_seconds: float = Field(default=20.0, gt=0, le=60, description="Total response budget")
    tls: TlsSettings = TlsSettings()
    username: SecretRef | None = None  # WS-Security UsernameToken
    password: SecretRef | None = None
    # None: the process's defaults (5 failures, 30 s open, 1 trial; connectors.core.client)
    circuit_breaker: CircuitBreakerSettings | None = None

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> CoreSoapTransport:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password references, or neither")
        return self

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
        """The resolved (username, password), or None when the endpoint takes none."""
        if self.username is None or self.password is None:
            return None
        return self.username.resolve(environ), self.password.resolve(environ)


class SftpTransport(_Model):
    """SFTP mailbox of the partner: 837 files go up to `inbound_dir`; TA1, 999, 277CA and 835
    files are collected from `outbound_dir` every `poll_interval_seconds`."""

    host: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    port: int = Field(default=22, ge=1, le=65535)
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    private_key: SecretRef | None = None  # the key file ({file: path}) or the key text ({env: NAME})
    passphrase: SecretRef | None = None
    password: SecretRef | None = None
    known_hosts: Path | None = None  # host keys to trust; the system default when absent
    inbound_dir: str = "/inbound"  # the partner's inbound folder: we upload here
    outbound_dir: str = "/outbound"  # the partner's outbound folder: we poll here
    poll_interval_seconds: float = Field(default=60.0, gt=0)

    @field_validator("known_hosts")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _some_credential(self) -> SftpTransport:
        if self.private_key is None and self.password is None:
            raise ValueError("give a private_key or a password reference")
        if self.passphrase is not None and self.private_key is None:
            raise ValueError("passphrase is given without private_key")
        return self


class TransportSettings(_Model):
    core_soap: CoreSoapTransport | None = None
    sftp: SftpTransport | None = None


class BatchSettings(_Model):
    """How claims waiting for a partner are gathered into 837 files."""

    max_claims_per_transaction_set: int = Field(
        default=MAX_CLAIMS_PER_TRANSACTION_SET, ge=1, le=MAX_CLAIMS_PER_TRANSACTION_SET
    )
    max_claims_per_file: int = Field(default=MAX_CLAIMS_PER_TRANSACTION_SET, ge=1)
    window_seconds: float = Field(default=60.0, gt=0, description="Longest a claim waits for a batch")


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """ISA13, GS06 and the first ST02, drawn from the partner's persistent sequences."""

    interchange: int
    group: int
    transaction: int = 1

    def __post_init__(self) -> None:
        for name in ("interchange", "group", "transaction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONTROL_NUMBER:
                raise ValueError(f"{name} control number must be an integer from 1 to {MAX_CONTROL_NUMBER}")


class TradingPartner(_Model):
    id: str = Field(default="", description="The key under `partners` (filled in by the loader)")
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    payer_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=80)]] = Field(min_length=1)
    interchange: InterchangeSettings
    delimiters: DelimiterSettings = DelimiterSettings()
    transactions: list[Transaction] = Field(min_length=1)
    transport: TransportSettings = TransportSettings()
    batch: BatchSettings = BatchSettings()
    pgp: PgpSettings | None = None  # 837 files up encrypted and signed; their answers decrypted and verified

    @field_validator("transactions")
    @classmethod
    def _unique_transactions(cls, value: list[Transaction]) -> list[Transaction]:
        if len(set(value)) != len(value):
            raise ValueError("a transaction is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TradingPartner:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if Transaction.ELIGIBILITY_270 in self.transactions and self.transport.core_soap is None:
            problems.append(
                (("transport", "core_soap"), "270 is accepted but transport.core_soap is not configured")
            )
        if any(not t.real_time for t in self.transactions) and self.transport.sftp is None:
            problems.append(
                (("transport", "sftp"), "837 batches are accepted but transport.sftp is not configured")
            )
        separators = self.delimiters.to_delimiters().characters()
        i = self.interchange
        ids = {
            "sender_id": i.sender_id,
            "receiver_id": i.receiver_id,
            "application_sender": i.application_sender or "",
            "application_receiver": i.application_receiver or "",
        }
        for name, value in ids.items():
            if any(c in separators for c in value):
                problems.append((("interchange", name), "contains one of the partner's separators"))
        if problems:
            raise _PathError(problems)
        return self

    def accepts(self, transaction: Transaction | str) -> bool:
        return Transaction(transaction) in self.transactions

    def transport_for(self, transaction: Transaction | str) -> TransportKind:
        """How `transaction` travels to this partner: CORE SOAP in real time, else SFTP."""
        t = Transaction(transaction)
        if t not in self.transactions:
            raise ValueError(f"partner {self.id!r} does not accept {t.value}")
        return TransportKind.CORE_SOAP if t.real_time else TransportKind.SFTP

    def envelope(self, numbers: ControlNumbers, *, now: datetime | None = None) -> Envelope:
        """The `Envelope` a mapper needs to write an interchange for this partner."""
        i = self.interchange
        return Envelope(
            sender_id=i.sender_id,
            receiver_id=i.receiver_id,
            interchange_control_number=numbers.interchange,
            group_control_number=numbers.group,
            transaction_control_number=numbers.transaction,
            sender_qualifier=i.sender_qualifier,
            receiver_qualifier=i.receiver_qualifier,
            application_sender=i.gs02,
            application_receiver=i.gs03,
            usage=i.usage.value,
            ack_requested=i.ack_requested,
            delimiters=self.delimiters.to_delimiters(),
            now=now,
        )


class FolderDoorConfig(_Model):
    """A watched folder: ``root`` holds ``inbound/``, ``work/``, ``archive/``, ``quarantine/``, ``outbound/``."""

    root: Path
    settle_seconds: float = Field(default=2.0, ge=0)
    poll_interval_seconds: float = Field(default=5.0, gt=0)

    @field_validator("root")
    @classmethod
    def _root(cls, value: Path, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)


class SftpDoorConfig(_Model):
    """The submitter's account on our SFTP door (the server itself is configured by environment)."""

    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    # an scrypt hash made by ``edi hash-password`` (connectors.ingest.sftp_server.hash_password)
    password_hash: Annotated[str, StringConstraints(pattern=r"^scrypt\$")] | None = Field(default=None, repr=False)
    authorized_keys: list[str] | Path | None = None  # authorized_keys lines, or a file of them
    # how the answers to one uploaded file are laid out in /outbound (connectors.ingest.jsonl_answers):
    # ``files``, one <transaction id>.<type>.json per answer; ``jsonl``, NAME.responses.jsonl
    answers: Literal["files", "jsonl"] = "files"

    @field_validator("authorized_keys")
    @classmethod
    def _keys(cls, value: list[str] | Path | None, info: ValidationInfo) -> list[str] | Path | None:
        return _resolve_path(value, info) if isinstance(value, Path) else value

    @model_validator(mode="after")
    def _some_login(self) -> SftpDoorConfig:
        if self.password_hash is None and not self.authorized_keys:
            raise ValueError("give authorized_keys, a password_hash, or both")
        return self

    def authorized_key_lines(self) -> tuple[str, ...]:
        keys = self.authorized_keys
        if isinstance(keys, Path):
            keys = [line for line in keys.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")]
        return tuple(keys or ())


class S3DoorConfig(_Model):
    """``s3://bucket/prefix/inbound/`` in, ``.../outbound/`` out; found by polling or through an SQS queue."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: Annotated[str, StringConstraints(pattern=r"^[^/].*[^/]$|^[^/]$")]
    sqs_queue: str | None = None  # None: poll the inbound prefix
    poll_interval_seconds: float = Field(default=10.0, gt=0)


class QueueDoorConfig(_Model):
    """A request queue of this submitter's own on the broker (AMQP queue name, or JMS ``/queue/...``)."""

    queue: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    reply_destination: str | None = None  # JMS: answers go here when a request has no JMSReplyTo


class SubmitterDoors(_Model):
    """The doors a submitter uses besides the API, and its CSV/fixed-width mapping files."""

    folder: FolderDoorConfig | None = None
    sftp: SftpDoorConfig | None = None
    s3: S3DoorConfig | None = None
    amqp: QueueDoorConfig | None = None
    jms: QueueDoorConfig | None = None
    mappings: list[Path] = Field(default_factory=list)  # edi.ingest mapping YAML files, tried in order

    @field_validator("mappings")
    @classmethod
    def _mapping_paths(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        return [p for p in (_resolve_path(v, info) for v in value) if p is not None]


class Submitter(_Model):
    """A system that sends us requests, and where and how its answers are delivered."""

    id: str = Field(default="", description="The key under `submitters` (filled in by the loader)")
    name: str | None = None
    callback_url: AnyHttpUrl | None = None
    signing_secret: SecretRef | None = None
    allowed_callback_hosts: list[str] = Field(default_factory=list)
    # plain http is refused except to these hosts (loopback demos and tests)
    http_callback_hosts: list[str] = Field(default_factory=list)
    # non-public networks (CIDR) this submitter's callbacks may reach, e.g. 127.0.0.0/8 in a demo
    allowed_callback_networks: list[str] = Field(default_factory=list)
    # SHA-256 (hex) of the API keys this submitter authenticates with; the keys are never stored
    api_keys_sha256: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]] = Field(
        default_factory=list
    )
    reply_queue: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    # OAuth2 clients acting for this submitter (edi.auth.clients): id, scrypt secret hash, scopes
    oauth_clients: list[OAuthClient] = Field(default_factory=list)
    outbound_dir: Path | None = None
    pgp: PgpSettings | None = None  # PGP files in decrypted and verified; file answers encrypted and signed
    doors: SubmitterDoors | None = None

    @field_validator("allowed_callback_hosts", "http_callback_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(
                    "allowed_callback_hosts takes host names (optionally *.domain), without scheme or port"
                )
        return [h.lower() for h in value]

    @field_validator("outbound_dir")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _deliverable(self) -> Submitter:
        if self.callback_url is not None and self.signing_secret is None:
            raise ValueError("callback_url needs a signing_secret reference")
        if self.allowed_callback_hosts and self.signing_secret is None:
            raise ValueError("allowed_callback_hosts needs a signing_secret reference")
        if self.pgp is not None and self.doors is not None and self.doors.sftp is not None \
                and self.doors.sftp.answers == "jsonl":
            raise ValueError("doors.sftp.answers: jsonl lines are not PGP-encrypted one by one; "
                             "use answers: files for a submitter with pgp")
        return self

    def callback_config(self, environ: Mapping[str, str] | None = None) -> CallbackConfig:
        """The delivery rules for this submitter (`edi.delivery`), its secret resolved."""
        return CallbackConfig(
            submitter_id=self.id,
            url=str(self.callback_url) if self.callback_url is not None else None,
            secret=self.signing_secret.resolve(environ) if self.signing_secret is not None else None,
            allow_request_callback=bool(self.allowed_callback_hosts),
            allowed_hosts=tuple(self.allowed_callback_hosts),
            http_hosts=tuple(self.http_callback_hosts),
            allowed_networks=tuple(self.allowed_callback_networks),
        )

    def callback_allowed(self, url: str) -> bool:
        """May a request of this submitter name `url` as its callback? Only http(s) URLs whose
        host is on the allow-list (exactly, or under a ``*.domain`` entry) qualify, so a request
        cannot point the pipeline at internal addresses."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            _ = parts.port  # raises on a malformed port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
            return False
        for allowed in self.allowed_callback_hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and host != allowed[2:]:
                    return True
            elif host == allowed.strip("[]"):
                return True
        return False


class PartnersConfig(_Model):
    partners: dict[PartnerId, TradingPartner] = Field(default_factory=dict)
    submitters: dict[PartnerId, Submitter] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for section in ("partners", "submitters"):
            entries = data.get(section)
            if isinstance(entries, Mapping):
                data[section] = {
                    key: ({**value, "id": key} if isinstance(value, Mapping) and "id" not in value else value)
                    for key, value in entries.items()
                }
        return data

    @model_validator(mode="after")
    def _payer_ids_unique(self) -> PartnersConfig:
        seen: dict[str, str] = {}
        for partner_id, partner in self.partners.items():
            if partner.id != partner_id:
                raise ValueError(f"partners.{partner_id}.id differs from its key")
            for payer_id in partner.payer_ids:
                if payer_id in seen:
                    where = ("partners", partner_id, "payer_ids", partner.payer_ids.index(payer_id))
                    raise _PathError([(where, f"payer id is already served by partner {seen[payer_id]!r}")])
                seen[payer_id] = partner_id
        for submitter_id, submitter in self.submitters.items():
            if submitter.id != submitter_id:
                raise ValueError(f"submitters.{submitter_id}.id differs from its key")
        return self

    def partner(self, partner_id: str) -> TradingPartner:
        try:
            return self.partners[partner_id]
        except KeyError:
            raise KeyError(f"no trading partner {partner_id!r}") from None

    def for_payer(self, payer_id: str) -> TradingPartner:
        """The partner serving `payer_id` (a request's tradingPartnerServiceId)."""
        for partner in self.partners.values():
            if payer_id in partner.payer_ids:
                return partner
        raise KeyError("no trading partner serves this payer id")

    def api_keys(self) -> dict[str, str]:
        """sha256(API key) -> submitter id, for the API's authentication."""
        return {digest.lower(): s.id for s in self.submitters.values() for digest in s.api_keys_sha256}

    def submitter(self, submitter_id: str) -> Submitter:
        try:
            return self.submitters[submitter_id]
        except KeyError:
            raise KeyError(f"no submitter {submitter_id!r}") from None


# ============================================================================ loading


class _PathError(ValueError):
    """Cross-field errors that know their exact places below the validated model."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    path: str  # dotted YAML path, list items as [n]
    message: str
    line: int | None = None  # 1-based, where the YAML node starts
    column: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.path or '<root>'}{where}: {self.message}"


class PartnersConfigError(ValueError):
    """The partners file is unreadable or invalid. Each issue names its YAML path; no issue
    repeats a configured value (a misplaced secret must not end up in a log)."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"invalid partners configuration {source}:\n{lines}")

    @property
    def paths(self) -> list[str]:
        return [issue.path for issue in self.issues]


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            duplicate = False
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice in this mapping", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _format_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _node_at(root: yaml.Node | None, loc: tuple[str | int, ...]) -> yaml.Node | None:
    """The deepest YAML node along `loc` (for line numbers)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    found = value_node
                    break
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


_SKIPPED_LOC_PARTS = {"function-after", "function-before", "function-plain", "function-wrap", "tagged-union"}


def _issues(error: ValidationError, root: yaml.Node | None) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for err in error.errors(include_input=False, include_url=False):
        loc = tuple(
            p
            for p in err["loc"]
            if not (isinstance(p, str) and (p == "[key]" or p.split("[")[0] in _SKIPPED_LOC_PARTS))
        )
        original = (err.get("ctx") or {}).get("error")
        if err["loc"] and err["loc"][-1] == "[key]":
            placed = [
                (
                    loc,
                    "ids are letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit)",
                )
            ]
        elif isinstance(original, _PathError):
            placed = [(loc + where, message) for where, message in original.problems]
        else:
            message = err["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            placed = [(loc, message)]
        for where, message in placed:
            node = _node_at(root, where)
            mark = node.start_mark if node is not None else None
            issues.append(
                ConfigIssue(
                    _format_path(where),
                    message,
                    mark.line + 1 if mark is not None else None,
                    mark.column + 1 if mark is not None else None,
                )
            )
    return issues


def parse_partners(
    text: str, *, base_dir: Path | str | None = None, source: str = "<string>"
) -> PartnersConfig:
    """Validate partners YAML given as text. Relative paths resolve against `base_dir`."""
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "unreadable YAML"
        issue = ConfigIssue("", problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None)
        raise PartnersConfigError(source, [issue]) from None
    except yaml.YAMLError as error:
        raise PartnersConfigError(source, [ConfigIssue("", type(error).__name__)]) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PartnersConfigError(
            source, [ConfigIssue("", "the file must hold a mapping with partners and submitters")]
        )
    context = {"base_dir": Path(base_dir) if base_dir is not None else None}
    try:
        return PartnersConfig.model_validate(data, context=context)
    except ValidationError as error:
        raise PartnersConfigError(source, _issues(error, root)) from None


def load_partners(
    path: Path | str | None = None, *, environ: Mapping[str, str] | None = None
) -> PartnersConfig:
    """Read the partners file at `path`, else at ``$EDI_PARTNERS_FILE``."""
    if path is None:
        env = os.environ if environ is None else environ
        path = env.get(PARTNERS_FILE_ENV)
        if not path:
            raise PartnersConfigError(
                "(none)", [ConfigIssue("", f"no path given and {PARTNERS_FILE_ENV} is not set")]
            )
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise PartnersConfigError(
            str(file), [ConfigIssue("", f"cannot be read ({type(error).__name__})")]
        ) from None
    except UnicodeDecodeError:
        raise PartnersConfigError(str(file), [ConfigIssue("", "is not UTF-8 text")]) from None
    return parse_partners(text, base_dir=file.resolve().parent, source=str(file))
