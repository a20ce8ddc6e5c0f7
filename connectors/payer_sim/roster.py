"""The payer simulator's member roster: who is covered, by which plan, with what cost sharing.

A real payer answers eligibility from its enrolment system; the simulator answers from a small
YAML file so that tests and demos can name an active, an inactive and an unknown member and know
the exact 271 each one gets. The same roster prices the simulator's 835s (co-pay, co-insurance,
deductible), so eligibility answers and payments agree.

File layout (amounts as numbers or strings, dates as YYYYMMDD or YYYY-MM-DD)::

    payer: {name: SIMULATED HEALTH PLAN, id: SIMPLAN01}   # optional: the 271's 2100A
    members:
      - member_id: SIM00001
        first_name: JOHN
        last_name: DOE
        date_of_birth: 19800101
        gender: M
        status: active            # active | inactive
        plan: GOLD PPO            # plan name (EB05)
        group_number: GRP100
        insurance_type: C1        # EB04 (C1 commercial, HM HMO, PR PPO...)
        coverage_begin: 20240101
        coverage_end: 20241231    # optional
        copay: 25.00              # or {amount: 25.00, service_types: [98, UC]}
        coinsurance_percent: 20
        deductible: 1500.00
        deductible_remaining: 750.00
        out_of_pocket: 5000.00
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Member", "Roster", "RosterError", "load_roster"]

_STATUSES = frozenset({"active", "inactive"})
_NULLS = frozenset({"", "null", "Null", "NULL", "~"})


class RosterError(ValueError):
    """A roster file the simulator cannot use; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Member:
    """One enrolled subscriber and the cost sharing of their plan."""

    member_id: str
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None  # YYYYMMDD
    gender: str | None = None  # F, M, U
    status: str = "active"
    plan: str | None = None
    group_number: str | None = None
    insurance_type: str | None = "C1"
    coverage_level: str = "IND"
    service_types: tuple[str, ...] = ("30",)
    coverage_begin: str | None = None  # YYYYMMDD
    coverage_end: str | None = None
    copay: Decimal | None = None
    copay_service_types: tuple[str, ...] = ("98",)
    coinsurance_percent: Decimal | None = None
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    out_of_pocket: Decimal | None = None
    message: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def covered_on(self, date: str | None) -> bool:
        """Active and enrolled on `date` (YYYYMMDD; a ``begin-end`` period must be covered whole)."""
        if not self.active:
            return False
        if not date:
            return True
        begin, _, end = date.partition("-")
        end = end or begin
        if self.coverage_begin and begin < self.coverage_begin:
            return False
        return not (self.coverage_end and end > self.coverage_end)


@dataclass(slots=True)
class Roster:
    """Members by id, and the payer the roster belongs to."""

    members: dict[str, Member] = field(default_factory=dict)
    payer_name: str | None = None
    payer_id: str | None = None

    def find(self, member_id: str | None) -> Member | None:
        if not member_id:
            return None
        return self.members.get(member_id.strip().upper())


def load_roster(source: str | os.PathLike[str] | Mapping[str, Any]) -> Roster:
    """A roster from a YAML file path, YAML text or already parsed data."""
    data = read_yaml(source)
    if not isinstance(data, Mapping):
        raise RosterError("a roster is a mapping with a 'members' list")
    payer = data.get("payer") or {}
    if not isinstance(payer, Mapping):
        raise RosterError("payer: expected a mapping with name and id")
    members: dict[str, Member] = {}
    entries = data.get("members") or []
    if not isinstance(entries, list):
        raise RosterError("members: expected a list")
    for i, entry in enumerate(entries):
        member = _member(entry, f"members[{i}]")
        key = member.member_id.upper()
        if key in members:
            raise RosterError(f"members[{i}].member_id: {member.member_id} is listed twice")
        members[key] = member
    return Roster(members=members, payer_name=_text(payer.get("name")), payer_id=_text(payer.get("id")))


def read_yaml(source: str | os.PathLike[str] | Mapping[str, Any]) -> Any:
    """A YAML file (a path), YAML text, or data already parsed, as parsed data.

    Scalars stay text (YAML's base schema): a member id ``00012345`` keeps its zeros and an amount
    ``25.10`` is read as written, never through a float. ``null`` and ``~`` mean absent.
    """
    if isinstance(source, Mapping):
        return source
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and Path(source).exists()
    ):
        source = Path(source).read_text(encoding="utf-8")
    return yaml.load(source, Loader=yaml.BaseLoader)


def is_null(value: Any) -> bool:
    """Absent: None, empty, or YAML's null spellings (read as text by the base schema)."""
    return value is None or (isinstance(value, str) and value.strip() in _NULLS)


def _text(value: Any) -> str | None:
    if is_null(value):
        return None
    return str(value).strip()


def date8(value: Any, where: str) -> str | None:
    """A YAML date (a date, 20240101 or "2024-01-01") as YYYYMMDD."""
    if is_null(value):
        return None
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    text = str(value).replace("-", "")
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise RosterError(f"{where}: {value!r} is not a date (YYYYMMDD)") from None
    return text


def amount(value: Any, where: str) -> Decimal | None:
    """A YAML number or string as a non-negative Decimal."""
    if is_null(value):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RosterError(f"{where}: {value!r} is not a number") from None
    if number < 0 or not number.is_finite():
        raise RosterError(f"{where}: {value!r} must not be negative")
    return number


def _codes(value: Any, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if is_null(value):
        return default
    items = value if isinstance(value, list) else [value]
    codes = tuple(str(v).strip().upper() for v in items if str(v).strip())
    if not codes:
        raise RosterError(f"{where}: at least one service type code")
    return codes


def _member(entry: Any, where: str) -> Member:
    if not isinstance(entry, Mapping):
        raise RosterError(f"{where}: expected a mapping")
    member_id = _text(entry.get("member_id"))
    if not member_id:
        raise RosterError(f"{where}.member_id: required")
    status = str(entry.get("status", "active")).lower()
    if status not in _STATUSES:
        raise RosterError(f"{where}.status: {status!r} is not active or inactive")
    gender = _text(entry.get("gender"))
    if gender is not None and gender.upper() not in ("F", "M", "U"):
        raise RosterError(f"{where}.gender: {gender!r} is not F, M or U")
    copay = entry.get("copay")
    copay_types: tuple[str, ...] = ("98",)
    if isinstance(copay, Mapping):
        copay_types = _codes(copay.get("service_types"), f"{where}.copay.service_types", copay_types)
        copay = copay.get("amount")
    coinsurance = amount(entry.get("coinsurance_percent"), f"{where}.coinsurance_percent")
    if coinsurance is not None and coinsurance > 100:
        raise RosterError(f"{where}.coinsurance_percent: more than 100")
    member = Member(
        member_id=member_id,
        first_name=_text(entry.get("first_name")),
        last_name=_text(entry.get("last_name")),
        date_of_birth=date8(entry.get("date_of_birth"), f"{where}.date_of_birth"),
        gender=gender.upper() if gender else None,
        status=status,
        plan=_text(entry.get("plan")),
        group_number=_text(entry.get("group_number")),
        insurance_type=_text(entry.get("insurance_type", "C1")),
        coverage_level=str(entry.get("coverage_level", "IND")),
        service_types=_codes(entry.get("service_types"), f"{where}.service_types", ("30",)),
        coverage_begin=date8(entry.get("coverage_begin"), f"{where}.coverage_begin"),
        coverage_end=date8(entry.get("coverage_end"), f"{where}.coverage_end"),
        copay=amount(copay, f"{where}.copay"),
        copay_service_types=copay_types,
        coinsurance_percent=coinsurance,
        deductible=amount(entry.get("deductible"), f"{where}.deductible"),
        deductible_remaining=amount(entry.get("deductible_remaining"), f"{where}.deductible_remaining"),
        out_of_pocket=amount(entry.get("out_of_pocket"), f"{where}.out_of_pocket"),
        message=_text(entry.get("message")),
    )
    if member.coverage_begin and member.coverage_end and member.coverage_end < member.coverage_begin:
        raise RosterError(f"{where}.coverage_end: before coverage_begin")
    return member
