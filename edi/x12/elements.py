"""Element-level checks of one segment against its rule (SNIP 1 and 2 at the element level).

The order and codes of the checks follow pyx12's element_if/composite_if/segment_if validators so
that verdicts agree; where pyx12 folds a problem into a bare IK3 "8" without saying which element
is wrong (syntax rules, too many elements or components, a missing composite) this module names the
element and the IK403 code the 999 guide defines for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grammar import CompositeRule, ElementRule, SegmentRule

__all__ = ["ElementError", "check_segment", "is_valid_date", "is_valid_time"]

# 5010 extended character set, as pyx12 accepts it for AN and ID values.
_BAD_CHAR = re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]""")
_NUMERIC = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]*(\.[0-9]+)?")
_CONTROL = re.compile(r"[\x01-\x07\x09-\x0d\x11-\x17\x1c-\x1f]")
_DIGITS = re.compile(r"[0-9]*")
_DATE_TYPES = ("RD8", "DT", "D8", "D6")


@dataclass(slots=True)
class ElementError:
    code: str  # IK403
    position: int  # element position in the segment (1-based)
    component: int | None
    rule: ElementRule | CompositeRule | None
    message: str
    bad_value: str | None = None
    repeat: int | None = None

    @property
    def element_ref(self) -> str | None:
        return self.rule.data_ele if self.rule is not None else None


def is_valid_time(val: str) -> bool:
    """HHMM[SS[d..]]; a value too short for HHMM is left to the length check (IK403 4)."""
    if not _DIGITS.fullmatch(val):
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    return not (len(val) > 4 and (len(val) < 6 or val[4:6] > "59" or len(val) > 8))


def is_valid_date(data_type: str, val: str) -> bool:
    if data_type == "D8" and len(val) != 8:
        return False
    if data_type == "D6" and len(val) != 6:
        return False
    if not _DIGITS.fullmatch(val) or len(val) not in (6, 8, 12):
        return False
    if len(val) == 6:
        val = ("20" if int(val[0:2]) < 50 else "19") + val
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        top = 31
    elif month in (4, 6, 9, 11):
        top = 30
    elif year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        top = 29
    else:
        top = 28
    if not 1 <= day <= top:
        return False
    return not (len(val) == 12 and not is_valid_time(val[8:12]))


def _valid_type(value: str, data_type: str) -> bool:
    t0 = data_type[0]
    if t0 == "N":
        return _NUMERIC.fullmatch(value) is not None
    if data_type == "R":
        return _DECIMAL.fullmatch(value) is not None
    if data_type in ("ID", "AN"):
        return _BAD_CHAR.search(value) is None
    if data_type == "RD8":
        if "-" not in value:
            return False
        parts = value.split("-")
        return len(parts) == 2 and is_valid_date("D8", parts[0]) and is_valid_date("D8", parts[1])
    if data_type in ("DT", "D8", "D6"):
        return is_valid_date(data_type, value)
    if data_type == "TM":
        return is_valid_time(value)
    return True


def _check_value(
    rule: ElementRule, value: str, pos: int, comp: int | None, type_list: tuple[str, ...] | None, out: list
) -> None:
    """Checks of one present value, in pyx12's order."""
    if rule.usage == "N":
        out.append(ElementError("I10", pos, comp, rule, f"{rule.ref} ({rule.name}) is not used in this guide"))
        return
    dt = rule.data_type
    measured = len(value.replace("-", "").replace(".", "")) if (dt == "R" or dt[0] == "N") else len(value)
    if measured < rule.min_len:
        out.append(ElementError("4", pos, comp, rule, f"{rule.ref} is shorter than {rule.min_len}", value))
    if measured > rule.max_len:
        out.append(ElementError("5", pos, comp, rule, f"{rule.ref} is longer than {rule.max_len}", value))
    if _CONTROL.search(value):
        out.append(ElementError("6", pos, comp, rule, f"{rule.ref} contains a control character", value))
        return
    if dt in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= rule.min_len:
        out.append(ElementError("6", pos, comp, rule, f"{rule.ref} has trailing spaces", value))
    if (rule.codes is not None or rule.external is not None) and not (
        (rule.codes is not None and value in rule.codes)
        or (rule.external_set is not None and value in rule.external_set)
    ):
        out.append(ElementError("7", pos, comp, rule, f"{rule.ref} ({rule.name}) has a code not valid here", value))
    if not _valid_type(value, dt):
        if dt in _DATE_TYPES:
            out.append(ElementError("8", pos, comp, rule, f"{rule.ref} ({rule.name}) is not a valid date", value))
        elif dt == "TM":
            out.append(ElementError("9", pos, comp, rule, f"{rule.ref} ({rule.name}) is not a valid time", value))
        else:
            out.append(ElementError("6", pos, comp, rule, f"{rule.ref} has characters not allowed for type {dt}", value))
    if type_list and not any(_valid_type(value, t) for t in type_list):
        if "TM" in type_list:
            out.append(ElementError("9", pos, comp, rule, f"{rule.ref} ({rule.name}) is not a valid time", value))
        elif any(t in type_list for t in _DATE_TYPES):
            out.append(ElementError("8", pos, comp, rule, f"{rule.ref} ({rule.name}) is not a valid date", value))
    if rule.regex is not None and not rule.regex.search(value):
        out.append(ElementError("I12", pos, comp, rule, f"{rule.ref} ({rule.name}) does not match the guide's pattern", value))


def _check_element(
    rule: ElementRule, value: str | None, pos: int, component: str, type_list: tuple[str, ...] | None, out: list
) -> None:
    if value and component in value:
        out.append(ElementError("6", pos, None, rule, f"{rule.ref} holds components but is not a composite", value))
        return
    if not value:
        if rule.usage == "R":
            out.append(ElementError("1", pos, None, rule, f"Required element {rule.ref} ({rule.name}) is missing"))
        return
    _check_value(rule, value, pos, None, type_list, out)


def _check_composite(rule: CompositeRule, value: str | None, pos: int, component: str, out: list) -> None:
    comps = value.split(component) if value else []
    empty = not any(comps)
    if empty:
        if rule.usage == "R":
            out.append(ElementError("1", pos, None, rule, f"Required composite {rule.ref} ({rule.name}) is missing"))
        return
    if rule.usage == "N":
        out.append(ElementError("I10", pos, None, rule, f"Composite {rule.ref} ({rule.name}) is not used in this guide"))
        return
    n = len(rule.components)
    if len(comps) > n:
        out.append(
            ElementError("13", pos, n + 1, rule, f"Composite {rule.ref} has more than {n} components", value)
        )
    for j, sub in enumerate(rule.components):
        v = comps[j] if j < len(comps) else ""
        if not v:
            # pyx12: a required first component of a situational composite is not reported
            if sub.usage == "R" and (sub.seq != 1 or rule.usage == "R"):
                out.append(ElementError("1", pos, j + 1, sub, f"Required component {sub.ref} ({sub.name}) is missing"))
            continue
        _check_value(sub, v, pos, j + 1, None, out)


def _present(seg: list[str], i: int) -> bool:
    return len(seg) > i and seg[i] != ""


def _check_repeated(
    child: ElementRule | CompositeRule, value: str, pos: int, component: str, repetition: str, out: list
) -> None:
    """A repeatable element holding several repetitions: each is checked, and their number."""
    parts = value.split(repetition)
    if len(parts) > child.max_use:
        out.append(ElementError("12", pos, None, child, f"{child.ref} repeats more than {child.max_use} times", value))
    for k, part in enumerate(parts, start=1):
        if not part:
            continue
        found: list[ElementError] = []
        if isinstance(child, CompositeRule):
            _check_composite(child, part, pos, component, found)
        else:
            _check_element(child, part, pos, component, None, found)
        for e in found:
            e.repeat = k
        out.extend(found)


def check_segment(rule: SegmentRule, seg: list[str], component: str, repetition: str = "") -> list[ElementError]:
    """All element, composite and syntax-rule errors of `seg` (a split segment, id first)."""
    out: list[ElementError] = []
    children = rule.children
    n = len(seg) - 1
    count = len(children)
    if n > count:
        out.append(
            ElementError("3", count + 1, None, None, f"{rule.id} has more than {count} elements", seg[count + 1])
        )
    type_list: list[str] = []
    date_format: tuple[str, ...] | None = None
    for i in range(count):
        child = children[i]
        value = seg[i + 1] if i < n else None
        if repetition and value and repetition in value:
            if child.max_use > 1:
                _check_repeated(child, value, i + 1, component, repetition, out)
            else:
                out.append(ElementError("12", i + 1, None, child, f"{child.ref} does not repeat", value))
            continue
        if isinstance(child, CompositeRule):
            _check_composite(child, value, i + 1, component, out)
            continue
        if i == 1 and rule.id == "DTP" and value in ("RD8", "D8", "D6", "DT", "TM"):
            date_format = (value,)
        if child.data_ele == "1250" and child.codes:
            type_list.extend(child.codes)
        if i == 2 and rule.id == "DTP":
            _check_element(child, value, i + 1, component, date_format, out)
        elif child.data_ele == "1251" and type_list:
            _check_element(child, value, i + 1, component, tuple(type_list), out)
        else:
            _check_element(child, value, i + 1, component, None, out)
    first_syntax = len(out)
    for kind, idx in rule.syntax:
        present = [_present(seg, i) for i in idx]
        if kind == "P":
            if any(present) and not all(present):
                missing = next(i for i, p in zip(idx, present, strict=True) if not p)
                out.append(_syntax_error("2", rule, missing, f"{rule.id}: if any of {_refs(rule, idx)} is present, all are required"))
        elif kind == "R":
            if not any(present):
                out.append(_syntax_error("2", rule, idx[0], f"{rule.id}: at least one of {_refs(rule, idx)} is required"))
        elif kind == "E":
            if sum(present) > 1:
                extra = [i for i, p in zip(idx, present, strict=True) if p][1]
                out.append(_syntax_error("10", rule, extra, f"{rule.id}: only one of {_refs(rule, idx)} may be present"))
        elif kind == "C":
            if present[0] and not all(present[1:]):
                missing = next(i for i, p in zip(idx[1:], present[1:], strict=True) if not p)
                out.append(_syntax_error("2", rule, missing, f"{rule.id}: if {_refs(rule, idx[:1])} is present, {_refs(rule, idx[1:])} required"))
        elif kind == "L" and present[0] and not any(present[1:]):
            out.append(_syntax_error("2", rule, idx[1], f"{rule.id}: if {_refs(rule, idx[:1])} is present, one of {_refs(rule, idx[1:])} is required"))
    return _dedupe_syntax(out, first_syntax) if len(out) > first_syntax else out


def _dedupe_syntax(out: list[ElementError], first_syntax: int) -> list[ElementError]:
    """A syntax rule naming an element already reported missing adds nothing: keep the first report."""
    missing = {e.position for e in out[:first_syntax] if e.code == "1"}
    return out[:first_syntax] + [e for e in out[first_syntax:] if not (e.code == "2" and e.position in missing)]


def _refs(rule: SegmentRule, idx: tuple[int, ...]) -> str:
    return ", ".join(f"{rule.id}{i:02d}" for i in idx)


def _syntax_error(code: str, rule: SegmentRule, position: int, message: str) -> ElementError:
    child = rule.children[position - 1] if 0 < position <= len(rule.children) else None
    return ElementError(code, position, None, child, message)
