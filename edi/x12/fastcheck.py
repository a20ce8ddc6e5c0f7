"""A generated fast path that recognises segments with nothing wrong in them.

Almost every segment of a production file is valid. For each segment rule and each pair of
component and repetition separators this module writes, once, a small straight-line Python
function that answers only "certainly valid?" using the cheapest test per element: a set lookup
for code values (the set holds only listed codes the full check accepts: each passed once through
the element's text pattern, or for numbers through the full check itself, and the sets are shared
by every element with the same list and format), one precompiled regular expression for text,
numbers, dates and times. Elements after the last one with anything to check are tested empty with
one slice, optional components are read only as far as a composite goes. The
separators are baked in (the text pattern leaves them out of its character class, the code set
leaves out codes holding them), so that no element is searched for them separately. Any doubt
falls through to `edi.x12.elements.check_segment`, which computes the exact errors; the fast path
can therefore never change a verdict, only skip work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from .elements import _check_value
from .grammar import CompositeRule, ElementRule, SegmentRule

__all__ = ["fast_check"]

FastTest = Callable[[list[str]], bool]

# the 5010 extended character set (as `elements._BAD_CHAR` negates it), one character each
_CHARSET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "!\"&'()*+,-./:;?= %~@[]_{}\\|<>^`#$"
)
_YEAR = r"(?:1[89]|[2-9][0-9])[0-9]{2}"  # from 1800 on
_MMDD = r"(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31)"
# CCYYMMDD, a real calendar date from 1800 on; 29 February only in leap years
_D8 = (
    rf"(?:{_YEAR}{_MMDD}"
    r"|(?:(?:1[89]|[2-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)0229)"
)
# YYMMDD, read as 1950-2049 (so every year divisible by 4 is a leap year)
_D6 = rf"(?:[0-9]{{2}}{_MMDD}|(?:[02468][048]|[13579][26])0229)"
# HHMM, HHMMSS, HHMMSSd, HHMMSSdd (what `elements.is_valid_time` accepts at 4 digits or more)
_TM = r"(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9][0-9]{0,2})?"
_HELPERS = {
    "D8": re.compile(_D8).fullmatch,
    "D6": re.compile(_D6).fullmatch,
    "RD8": re.compile(f"{_D8}-{_D8}").fullmatch,
    "TM": re.compile(_TM).fullmatch,
}
#: characters a value accepted by each kind of test may hold besides the character class
_NUMBER_CHARS = frozenset("-.0123456789")
_RANGES = ("A-Z", "a-z", "0-9")


def _char_class(allowed: frozenset[str]) -> str:
    """A regular-expression class of `allowed`, whole letter and digit runs as ranges (a class
    of ninety single characters takes twice as long to compile)."""
    parts, rest = [], set(allowed)
    for r in _RANGES:
        run = {chr(c) for c in range(ord(r[0]), ord(r[2]) + 1)}
        if run <= rest:
            parts.append(r)
            rest -= run
    return "[" + "".join(parts) + "".join(re.escape(ch) for ch in sorted(rest)) + "]"


def _guard(seps: frozenset[str]) -> list[str]:
    """Tests that a number, date or time holds no separator (only needed for odd separators)."""
    return [f"{sep!r} not in v" for sep in sorted(seps & _NUMBER_CHARS)]


#: valid codes by (code lists, element format, separators): many elements share a list
_CODE_SETS: dict[tuple, frozenset[str]] = {}


@lru_cache(maxsize=256)
def _text_pattern(mn: int, mx: int, seps: frozenset[str]) -> re.Pattern[str]:
    """AN and ID values with nothing wrong: allowed characters but no separator, min to max long,
    no trailing space (unless the length is fixed: then spaces are padding, never an error)."""
    allowed = _CHARSET - seps
    body, last = _char_class(allowed), _char_class(allowed - {" "})
    if mn == mx:
        return re.compile(f"{body}{{{mn}}}")
    return re.compile(f"{body}{{{max(mn - 1, 0)},{mx - 1}}}{last}")


def _accepted(rule: ElementRule, value: str) -> bool:
    found: list = []
    _check_value(rule, value, 1, None, None, found)
    return not found


def _valid_codes(rule: ElementRule, seps: frozenset[str]) -> frozenset[str]:
    """The listed codes the full check accepts in `rule` holding no separator."""
    key = (rule.codes, rule.external, rule.data_type, rule.min_len, rule.max_len, rule.regex_text, rule.usage, seps)
    good = _CODE_SETS.get(key)
    if good is not None:
        return good
    candidates = set(rule.codes or ()) | set(rule.external_set or ())
    if rule.data_type in ("AN", "ID") and rule.max_len >= 1:
        # what `_check_value` checks of a listed code, in one pattern (lists are long)
        text = _text_pattern(rule.min_len, rule.max_len, seps).fullmatch
        search = rule.regex.search if rule.regex is not None else None
        good = frozenset(c for c in candidates if text(c) and (search is None or search(c)))
    else:
        good = frozenset(c for c in candidates if c and not seps & set(c) and _accepted(rule, c))
    if len(_CODE_SETS) > 4096:
        _CODE_SETS.clear()
    _CODE_SETS[key] = good
    return good


def _value_test(rule: ElementRule, ns: dict, name: str, seps: frozenset[str]) -> str | None:
    """Python expression over `v` (not empty) that is true only for a value with no error;
    None: always take the full check."""
    if rule.usage == "N":
        return None
    dt = rule.data_type
    mn, mx = rule.min_len, rule.max_len
    if rule.codes is not None or rule.external is not None:
        ns[f"K{name}"] = _valid_codes(rule, seps)
        return f"v in K{name}"  # every member passed the guide's pattern too
    tests: list[str] = []
    if dt in ("AN", "ID"):
        if mx < 1:
            return None
        ns[f"P{name}"] = _text_pattern(mn, mx, seps).fullmatch
        tests.append(f"P{name}(v) is not None")
    elif dt.startswith("N"):
        ns[f"P{name}"] = re.compile(f"-?[0-9]{{{mn},{mx}}}").fullmatch
        tests += [f"P{name}(v) is not None", *_guard(seps)]
    elif dt == "R":
        ns[f"P{name}"] = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)").fullmatch
        tests += [f"P{name}(v) is not None and {mn} <= len(v) - v.count('.') - v.count('-') <= {mx}", *_guard(seps)]
    elif dt == "DT" and mn == 8 and mx == 8:
        tests += ["D8(v) is not None", *_guard(seps)]
    elif dt == "DT" and mn == 6 and mx == 6:
        tests += ["D6(v) is not None", *_guard(seps)]
    elif dt == "TM":
        tests += [f"{mn} <= len(v) <= {mx} and TM(v) is not None", *_guard(seps)]
    else:
        return None
    if rule.regex is not None:
        ns[f"X{name}"] = rule.regex.search
        tests.append(f"X{name}(v) is not None")
    return " and ".join(f"({t})" for t in tests)


_TYPE_TESTS = {"D8": "D8(v) is not None", "RD8": "RD8(v) is not None", "TM": "TM(v) is not None"}


def _type_list_test(rule: ElementRule, type_list: set[str], ns: dict, name: str, seps: frozenset[str]) -> str | None:
    """A value whose format is named by an earlier 1250 qualifier: valid if any listed format fits."""
    if not type_list <= _TYPE_TESTS.keys():
        return None
    own = _value_test(rule, ns, name, seps)
    if own is None:
        return None
    return f"({own}) and ({' or '.join(_TYPE_TESTS[t] for t in sorted(type_list))})"


def _dtp_test(rule: ElementRule, ns: dict, seps: frozenset[str]) -> str | None:
    """DTP03, whose format DTP02 names (D8 or RD8 here; anything else takes the full check)."""
    if rule.data_type not in ("AN", "ID"):
        return None
    test = "(q == 'D8' and D8(v) is not None) or (q == 'RD8' and RD8(v) is not None)"
    guards = _guard(seps)
    if guards:
        test = f"({test}) and {' and '.join(guards)}"
    if rule.codes is None and rule.external is None and rule.regex is None and rule.min_len <= 8 and rule.max_len >= 17:
        return test  # a D8 or RD8 date is then certainly a valid AN/ID value of the element
    own = _value_test(rule, ns, "3", seps)
    return None if own is None else f"({own}) and ({test})"


def _compile(rule: SegmentRule, component: str, repetition: str) -> FastTest:
    seps = frozenset(s for s in (component, repetition) if s)
    ns: dict = {**_HELPERS, "C": component, "R": repetition}
    count = len(rule.children)
    blocks: list[list[str] | None] = []  # per element its lines; None: it must be empty
    required: set[int] = set()  # positions certainly not empty once their lines pass
    type_list: set[str] = set()
    for i, child in enumerate(rule.children, start=1):
        if child.usage == "R":
            required.add(i)
        if isinstance(child, CompositeRule):
            blocks.append(_composite(child, i, ns, seps))
            continue
        if child.data_ele == "1250" and child.codes:
            type_list |= child.codes
        if rule.id == "DTP" and i == 3:
            test = _dtp_test(child, ns, seps)
        elif child.data_ele == "1251" and type_list:
            test = _type_list_test(child, type_list, ns, str(i), seps)
        else:
            test = _value_test(child, ns, str(i), seps)
        if test is None and child.usage != "R":
            blocks.append(None)
            continue
        lines = [f"    v = seg[{i}]"]
        if rule.id == "DTP" and i == 3:
            lines.append("    q = seg[2]")
        if repetition and child.max_use > 1 and test is not None:
            # repetitions of a repeatable element: each checked on its own (no format from a
            # qualifier, as the full check), none of them empty
            own = _value_test(child, ns, f"{i}r", seps)
            if own is not None:
                lines.append("    if R in v:")
                lines.append("        q = v.split(R)")
                lines.append(f"        if len(q) > {child.max_use}: return False")
                lines.append("        for v in q:")
                lines.append(f"            if not v or not ({own}): return False")
                lines.append(_presence("    ", test, child.usage == "R").replace("    if ", "    elif ", 1))
                blocks.append(lines)
                continue
        lines.append(_presence("    ", test, child.usage == "R"))
        blocks.append(lines)
    # the last element read: after it every element must be empty, which one slice tells
    named = {i for _, idx in rule.syntax for i in idx if 0 < i <= count}
    last = max([i for i, b in enumerate(blocks, start=1) if b is not None] + [*named, 0])
    ns["PAD"] = [""] * last
    out = ["def ok(seg):", "    n = len(seg)", f"    if n > {count + 1}: return False"]
    if last < count:
        out.append(f"    if n > {last + 1} and any(seg[{last + 1}:]): return False")
    # padded up to the last element read, so that each is read without a bounds test (a copy:
    # the segment is the reader's)
    out.append(f"    if n <= {last}: seg = seg + PAD[n - 1:]")
    empty: list[str] = []  # a run of elements that must be empty, tested together
    for i, block in enumerate(blocks[:last], start=1):
        if block is None:
            empty.append(f"seg[{i}]")
            continue
        if empty:
            out.append(f"    if {' or '.join(empty)}: return False")
            empty = []
        out += block
    if empty:
        out.append(f"    if {' or '.join(empty)}: return False")
    for kind, idx in rule.syntax:
        pres = [f"seg[{i}] != ''" if 0 < i <= count else "False" for i in idx]
        if kind == "P" and not set(idx) <= required:  # all required: all present
            out.append(f"    t = ({') + ('.join(pres)})")
            out.append(f"    if 0 < t < {len(pres)}: return False")
        elif kind == "R" and not set(idx) & required:
            out.append(f"    if not (({') or ('.join(pres)})): return False")
        elif kind == "E":
            out.append(f"    if ({') + ('.join(pres)}) > 1: return False")
        elif kind == "C" and not set(idx[1:]) <= required:
            out.append(f"    if ({pres[0]}) and not (({') and ('.join(pres[1:])})): return False")
        elif kind == "L" and not set(idx[1:]) & required:
            out.append(f"    if ({pres[0]}) and not (({') or ('.join(pres[1:])})): return False")
    out.append("    return True")
    # a file name per rule, so that profiles tell the generated tests apart
    code = compile("\n".join(out), f"<fastcheck {rule.path or rule.id}>", "exec")
    exec(code, ns)  # noqa: S102 - source built from the compiled grammar only
    return ns["ok"]


def _presence(indent: str, test: str | None, required: bool) -> str:
    """The line judging one value `v`: present and passing `test`, or absent if it may be.
    Without a test a present value always takes the full check (and a required one must be)."""
    if test is None:
        return f"{indent}return False" if required else f"{indent}if v: return False"
    if required:
        return f"{indent}if not v or not ({test}): return False"
    return f"{indent}if v and not ({test}): return False"


def _composite(child: CompositeRule, i: int, ns: dict, seps: frozenset[str]) -> list[str] | None:
    """A composite element: split once, each component read once, trailing unused ones at a
    glance, optional ones only as far as there are components. None: it must be empty."""
    if child.usage == "N":
        return None
    req = child.usage == "R"
    comps = child.components
    tests = [_value_test(sub, ns, f"{i}_{j}", seps) for j, sub in enumerate(comps)]
    required = [sub.usage == "R" and (sub.seq != 1 or req) for sub in comps]
    # components after the last one that may hold a value or must: those must all be empty
    used = max((j + 1 for j in range(len(comps)) if tests[j] is not None or required[j]), default=0)
    # up to the last required component every one is there; optional ones after it may not be
    must = max((j + 1 for j in range(len(comps)) if required[j]), default=0)
    lines = [f"    v = seg[{i}]", "    if v:", "        p = v.split(C)", "        m = len(p)",
             f"        if m > {len(comps)}: return False"]
    if used < len(comps):
        lines.append(f"        if m > {used} and any(p[{used}:]): return False")
    if must > 1:
        lines.append(f"        if m < {must}: return False")
    for j in range(must):
        lines.append(f"        v = p[{j}]")
        lines.append(_presence("        ", tests[j], required[j]))
    indent = "        "
    for j in range(must, used):
        if j > 0:
            lines.append(f"{indent}if m > {j}:")
            indent += "    "
        lines.append(f"{indent}v = p[{j}]")
        lines.append(_presence(indent, tests[j], required[j]))
    if not any(required):
        lines.append("        if not any(p): return False")
    if req:
        lines.append("    else: return False")
    return lines


def fast_check(rule: SegmentRule, component: str, repetition: str) -> FastTest:
    """The fast validity test of `rule` for these separators, compiled on first use and kept on
    the rule (one per pair of separators)."""
    tests = rule.fast
    if tests is None:
        tests = rule.fast = {}
    fn = tests.get((component, repetition))  # type: ignore[attr-defined]
    if fn is None:
        fn = tests[(component, repetition)] = _compile(rule, component, repetition)  # type: ignore[index]
    return fn
