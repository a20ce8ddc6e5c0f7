"""A generated fast path that recognises segments with nothing wrong in them.

Almost every segment of a production file is valid. For each segment rule this module writes, once,
a small straight-line Python function that answers only "certainly valid?" using the cheapest test
per element (a set lookup for code values, one precompiled regular expression for text and numbers,
a cached calendar check for dates). Any doubt falls through to `edi.x12.elements.check_segment`,
which computes the exact errors; the fast path can therefore never change a verdict, only skip work.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .elements import is_valid_time
from .grammar import CompositeRule, ElementRule, SegmentRule

__all__ = ["fast_check"]

_CHARSET = r"""A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$"""
_CHARSET_NO_SPACE = r"""A-Z0-9!"&'()*+,\-./:;?=a-z%~@\[\]_{}\\|<>^`#$"""
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date_ok(v: str) -> bool:
    """CCYYMMDD, a real calendar date from 1800 on (no cache: cached strings would pin memory)."""
    if len(v) != 8 or not v.isdigit():
        return False
    year, month, day = int(v[:4]), int(v[4:6]), int(v[6:])
    if year < 1800 or not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month]:
        return False
    return not (month == 2 and day == 29) or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))


def _rd8_ok(v: str) -> bool:
    return len(v) == 17 and v[8] == "-" and _date_ok(v[:8]) and _date_ok(v[9:])


def _time_ok(v: str) -> bool:
    return is_valid_time(v)


def _value_test(rule: ElementRule, ns: dict, name: str) -> str | None:
    """Python expression over `v` that is true only for a value with no error; None: always slow."""
    if rule.usage == "N":
        return "False"
    dt = rule.data_type
    mn, mx = rule.min_len, rule.max_len
    tests: list[str] = []
    if rule.codes is not None or rule.external_set is not None:
        good = set(rule.codes or ()) | set(rule.external_set or ())
        if rule.external is not None and rule.external_set is None:
            return None
        good = {
            c for c in good
            if c and mn <= len(c) <= mx and re.fullmatch(f"[{_CHARSET}]*[{_CHARSET_NO_SPACE}]", c)
            and (dt not in ("N", "N0", "N1", "N2", "R") or re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", c))
        }
        if dt in ("DT", "D8", "D6", "RD8", "TM"):
            return None
        ns[f"K{name}"] = frozenset(good)
        tests.append(f"v in K{name}")
    elif dt in ("AN", "ID"):
        if mx < 1:
            return None
        ns[f"P{name}"] = re.compile(f"[{_CHARSET}]{{{max(mn - 1, 0)},{mx - 1}}}[{_CHARSET_NO_SPACE}]").fullmatch
        tests.append(f"P{name}(v) is not None and c not in v")
    elif dt.startswith("N"):
        ns[f"P{name}"] = re.compile(f"-?[0-9]{{{mn},{mx}}}").fullmatch
        tests.append(f"P{name}(v) is not None")
    elif dt == "R":
        ns[f"P{name}"] = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)").fullmatch
        tests.append(f"P{name}(v) is not None and {mn} <= len(v) - v.count('.') - v.count('-') <= {mx}")
    elif dt == "DT" and mn == 8 and mx == 8:
        tests.append("D8(v)")
    elif dt == "TM":
        tests.append(f"{mn} <= len(v) <= {mx} and TM(v)")
    else:
        return None
    if rule.regex is not None:
        ns[f"X{name}"] = rule.regex.search
        tests.append(f"X{name}(v) is not None")
    return " and ".join(f"({t})" for t in tests)


_TYPE_TESTS = {"D8": "D8(v)", "RD8": "RD8(v)", "TM": "TM(v)"}


def _type_list_test(rule: ElementRule, type_list: set[str], ns: dict, name: str) -> str | None:
    """A value whose format is named by an earlier 1250 qualifier: valid if any listed format fits."""
    if not type_list <= _TYPE_TESTS.keys():
        return None
    own = _value_test(rule, ns, name)
    if own is None:
        return None
    return f"({own}) and ({' or '.join(_TYPE_TESTS[t] for t in sorted(type_list))})"


def _compile(rule: SegmentRule) -> Callable[[list[str], str, str], bool]:
    ns: dict = {"D8": _date_ok, "RD8": _rd8_ok, "TM": _time_ok}
    count = len(rule.children)
    lines = ["def ok(seg, c, r):", "    n = len(seg) - 1", f"    if n > {count}: return False"]
    type_list: set[str] = set()
    for i, child in enumerate(rule.children, start=1):
        lines.append(f"    v = seg[{i}] if n >= {i} else ''")
        lines.append("    if r and r in v: return False")
        if isinstance(child, CompositeRule):
            if child.usage == "N":
                lines.append("    if v: return False")
                continue
            req = child.usage == "R"
            lines.append("    if v:")
            lines.append("        p = v.split(c)")
            lines.append(f"        if len(p) > {len(child.components)}: return False")
            lines.append(f"        p += [''] * ({len(child.components)} - len(p))")
            for j, sub in enumerate(child.components):
                test = _value_test(sub, ns, f"{i}_{j}")
                lines.append(f"        v = p[{j}]")
                if test is None:
                    lines.append("        if v: return False")
                else:
                    lines.append(f"        if v and not ({test}): return False")
                if sub.usage == "R" and (sub.seq != 1 or req):
                    lines.append("        if not v: return False")
            lines.append("        if not any(p): return False")
            if req:
                lines.append("    else: return False")
            continue
        if child.data_ele == "1250" and child.codes:
            type_list |= child.codes
        if rule.id == "DTP" and i == 3:
            test = "(seg[2] == 'D8' and D8(v)) or (seg[2] == 'RD8' and RD8(v))"
            if child.data_type not in ("AN", "ID"):
                test = None
        elif child.data_ele == "1251" and type_list:
            test = _type_list_test(child, type_list, ns, str(i))
        else:
            test = _value_test(child, ns, str(i))
        if test is None:
            lines.append("    if v: return False")
        else:
            lines.append(f"    if v and not ({test}): return False")
        if child.usage == "R":
            lines.append("    if not v: return False")
    for kind, idx in rule.syntax:
        pres = [f"(n >= {i} and seg[{i}] != '')" for i in idx]
        if kind == "P":
            lines.append(f"    t = [{', '.join(pres)}]")
            lines.append("    if any(t) and not all(t): return False")
        elif kind == "R":
            lines.append(f"    if not ({' or '.join(pres)}): return False")
        elif kind == "E":
            lines.append(f"    if sum([{', '.join(pres)}]) > 1: return False")
        elif kind == "C":
            lines.append(f"    if {pres[0]} and not ({' and '.join(pres[1:])}): return False")
        elif kind == "L":
            lines.append(f"    if {pres[0]} and not ({' or '.join(pres[1:])}): return False")
    lines.append("    return True")
    exec("\n".join(lines), ns)  # noqa: S102 - source built from the compiled grammar only
    return ns["ok"]


def fast_check(rule: SegmentRule) -> Callable[[list[str], str, str], bool]:
    """The fast validity test for `rule`, compiled on first use and kept on the rule."""
    fn = rule.fast
    if fn is None:
        fn = rule.fast = _compile(rule)
    return fn
