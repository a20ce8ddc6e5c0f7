"""The generated fast validity tests (`edi.x12.fastcheck`) agree with the full element check.

A fast test may only say "certainly valid": whenever it accepts a segment, `check_segment` must
find nothing wrong with it; whenever there is something wrong it must hand the segment over (say
False). Each fast path is tested both ways here: a valid value it must accept (or the fast path
is dead weight) and invalid ones it must hand over, with the error the full check then reports.
"""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from edi.maps import find_map_file
from edi.x12.elements import check_segment, is_valid_date, is_valid_time
from edi.x12.fastcheck import _HELPERS, fast_check
from edi.x12.grammar import CompositeRule, ElementRule, LoopRule, SegmentRule, load_grammar

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
SAMPLES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file() and not p.name.startswith("LICENSE"))
MAPS = ("837.5010.X222.A1.xml", "835.5010.X221.A1.xml", "277.5010.X212.xml", "271.5010.X279.A1.xml",
        "837Q3.I.5010.X223.A1.xml", "270.5010.X279.A1.xml", "276.5010.X212.xml")


def el(seq: int, usage: str = "S", dt: str = "AN", mn: int = 1, mx: int = 10, codes: set[str] | None = None,
       regex: str | None = None, data_ele: str = "9999", max_use: int = 1) -> ElementRule:
    return ElementRule(ref=f"XX{seq:02d}", name=f"element {seq}", usage=usage, seq=seq, data_ele=data_ele,
                       data_type=dt, min_len=mn, max_len=mx, codes=frozenset(codes) if codes is not None else None,
                       external=None, external_set=None, regex=re.compile(regex) if regex else None,
                       regex_text=regex, max_use=max_use)


def comp(seq: int, usage: str, components: list[ElementRule]) -> CompositeRule:
    for j, c in enumerate(components, start=1):
        c.seq, c.in_composite, c.composite_usage = j, True, usage
    return CompositeRule(ref=f"XX{seq:02d}", name=f"composite {seq}", usage=usage, seq=seq, data_ele="C999",
                         components=components, max_use=1)


def segment(seg_id: str, children: list, syntax: list | None = None) -> SegmentRule:
    loop = LoopRule(id="1000", name="loop", usage="R", pos=1, repeat=1, type=None, parent=None, children=[])
    rule = SegmentRule(id=seg_id, name="test segment", usage="R", pos=1, max_use=1, syntax=syntax or [],
                       children=children, parent=loop)
    rule.path = f"/test/{seg_id}/{id(rule)}"
    return rule


def verdicts(rule: SegmentRule, text: str, c: str = ":", r: str = "^") -> tuple[bool, list[str]]:
    seg = text.split("*")
    before = list(seg)
    fast = fast_check(rule, c, r)(seg)
    assert seg == before, "the fast test changed the reader's segment"
    codes = [e.code for e in check_segment(rule, seg, c, r)]
    assert not (fast and codes), f"fast test accepted {text!r}, full check found {codes}"
    return fast, codes


# ------------------------------------------------------------------ dates and times


def test_date_pattern_is_exactly_the_full_date_check() -> None:
    d8 = _HELPERS["D8"]
    for year, month, day in itertools.product(range(1700, 2501), range(0, 14), range(0, 33)):
        v = f"{year:04d}{month:02d}{day:02d}"
        assert (d8(v) is not None) is is_valid_date("D8", v), v
    for v in ("2024022", "202402290", "2024-229", "２０２４０２２９", "20240229 ", ""):
        assert d8(v) is None and not (len(v) == 8 and is_valid_date("D8", v)) or v == "", v


def test_short_date_pattern_is_exactly_the_full_date_check() -> None:
    """YYMMDD (ISA09): years 1950-2049, so 000229 (2000) is a date and 500229 (1950) is not."""
    d6 = _HELPERS["D6"]
    for year, month, day in itertools.product(range(100), range(0, 14), range(0, 33)):
        v = f"{year:02d}{month:02d}{day:02d}"
        assert (d6(v) is not None) is is_valid_date("DT", v), v
    assert d6("000229") and not d6("500229") and d6("960229") and not d6("1231")


@pytest.mark.parametrize(("value", "valid"), [
    ("20240229", True), ("20000229", True), ("24000229", True),  # leap years, centuries by 400
    ("20230229", False), ("19000229", False), ("21000229", False), ("18000229", False),
    ("17960229", False),  # a leap year, but before 1800
    ("20240431", False), ("20241301", False), ("20240100", False), ("20241231", True),
])
def test_dtp_dates_take_the_fast_path_only_when_valid(value: str, valid: bool) -> None:
    rule = segment("DTP", [el(1, "R", "ID", 3, 3, {"472"}), el(2, "R", "ID", 2, 3, {"D8", "RD8"}),
                           el(3, "R", "AN", 1, 35)])
    fast, codes = verdicts(rule, f"DTP*472*D8*{value}")
    assert fast is valid
    assert codes == ([] if valid else ["8"])
    # the same date as either end of a range
    fast, codes = verdicts(rule, f"DTP*472*RD8*{value}-20241231")
    assert (fast, codes) == ((True, []) if valid else (False, ["8"]))
    fast, codes = verdicts(rule, f"DTP*472*RD8*20200101-{value}")
    assert (fast, codes) == ((True, []) if valid else (False, ["8"]))


def test_dtp_with_another_format_or_a_bad_range_is_handed_over() -> None:
    rule = segment("DTP", [el(1, "R", "ID", 3, 3, {"472"}), el(2, "R", "ID", 2, 3, {"D8", "RD8", "DT"}),
                           el(3, "R", "AN", 1, 35)])
    assert verdicts(rule, "DTP*472*DT*202401011230") == (False, [])  # valid, but not a fast-path format
    assert verdicts(rule, "DTP*472*RD8*20240101") == (False, ["8"])
    assert verdicts(rule, "DTP*472*D8*20240101-20240102") == (False, ["8"])
    assert verdicts(rule, "DTP*472*D8*") == (False, ["1"])
    # a DTP03 narrower than a range, or with a pattern: the date alone does not make it valid
    narrow = segment("DTP", [el(1, "R", "ID", 3, 3, {"472"}), el(2, "R", "ID", 2, 3, {"D8", "RD8"}),
                             el(3, "R", "AN", 1, 8, regex="^20")])
    assert verdicts(narrow, "DTP*472*D8*20240101") == (True, [])
    assert verdicts(narrow, "DTP*472*RD8*20240101-20240131") == (False, ["5"])
    assert verdicts(narrow, "DTP*472*D8*19990101") == (False, ["I12"])


def test_time_pattern_is_the_full_time_check_from_four_digits_on() -> None:
    tm = _HELPERS["TM"]
    values = [f"{i:04d}" for i in range(10_000)]
    values += [f"{hhmm}{rest}" for hhmm in ("0000", "2359", "2400", "1260", "1259")
               for k in (1, 2, 3, 4, 5) for rest in (f"{i:0{k}d}" for i in range(0, 10**k, 7 if k > 2 else 1))]
    for v in values:
        assert (tm(v) is not None) is is_valid_time(v), v


@pytest.mark.parametrize(("value", "fast", "codes"), [
    ("1230", True, []), ("123045", True, []), ("12304599", True, []),
    ("2400", False, ["9"]), ("1260", False, ["9"]), ("12304", False, ["9"]), ("123", False, ["4"]),
    ("123060", False, ["9"]), ("12:30", False, ["6"]),
])
def test_times(value: str, fast: bool, codes: list[str]) -> None:
    rule = segment("XTM", [el(1, "R", "TM", 4, 8)])
    assert verdicts(rule, f"XTM*{value}") == (fast, codes)


# ------------------------------------------------------------------ codes, text, numbers


def test_code_set_holds_only_codes_the_full_check_accepts() -> None:
    """A guide may list a code its own element cannot hold (too long here, or failing the
    element's pattern): the fast set must not let it through."""
    rule = segment("XCD", [el(1, "R", "ID", 1, 3, {"A", "BB", "TOOLONG", "b c"}, regex="^[A-Z]+$")])
    assert verdicts(rule, "XCD*A") == (True, [])
    assert verdicts(rule, "XCD*BB") == (True, [])
    assert verdicts(rule, "XCD*TOOLONG") == (False, ["5"])
    assert verdicts(rule, "XCD*b c") == (False, ["I12"])
    assert verdicts(rule, "XCD*C") == (False, ["7"])
    assert verdicts(rule, "XCD*") == (False, ["1"])


def test_numeric_code_sets_are_judged_as_numbers() -> None:
    """A number's length leaves out its sign and decimal point, and N takes no decimal point."""
    n0 = segment("XNC", [el(1, "R", "N0", 1, 4, {"1", "-12", "1.5", "12345"})])
    assert verdicts(n0, "XNC*1") == (True, [])
    assert verdicts(n0, "XNC*-12") == (True, [])
    assert verdicts(n0, "XNC*1.5") == (False, ["6"])
    assert verdicts(n0, "XNC*12345") == (False, ["5"])
    r = segment("XRC", [el(1, "R", "R", 3, 6, {"1.0", "10.0", "-100"})])
    assert verdicts(r, "XRC*1.0") == (False, ["4"])  # two digits: shorter than 3
    assert verdicts(r, "XRC*10.0") == (True, [])
    assert verdicts(r, "XRC*-100") == (True, [])


def test_code_sets_shared_by_elements_of_other_formats() -> None:
    """Valid codes are worked out once per list and format: the same list in a shorter element,
    or in a number under a decimal-point separator, has other valid codes."""
    codes = {"A", "ABCD", "1.5", "2"}
    wide = segment("XW", [el(1, "R", "ID", 1, 4, codes)])
    narrow = segment("XN", [el(1, "R", "ID", 1, 2, codes)])
    assert verdicts(wide, "XW*ABCD") == (True, [])
    assert verdicts(narrow, "XN*ABCD") == (False, ["5"])
    number = segment("XR", [el(1, "R", "R", 1, 4, codes - {"A", "ABCD"})])
    assert verdicts(number, "XR*1.5") == (True, [])
    assert verdicts(number, "XR*1.5", c=".", r="^") == (False, ["6"])
    assert verdicts(number, "XR*2", c=".", r="^") == (True, [])
    ident = segment("XI", [el(1, "R", "ID", 1, 4, {"1.5", "2"})])
    assert verdicts(ident, "XI*1.5") == (True, [])
    n0 = segment("XZ", [el(1, "R", "N0", 1, 4, {"1.5", "2"})])
    assert verdicts(n0, "XZ*1.5") == (False, ["6"])


def test_code_sets_with_fixed_length_padding() -> None:
    rule = segment("XPC", [el(1, "R", "ID", 3, 3, {"AB ", "ABC", " AB", "A\x07B"})])
    assert verdicts(rule, "XPC*AB ") == (True, [])
    assert verdicts(rule, "XPC*ABC") == (True, [])
    assert verdicts(rule, "XPC* AB") == (True, [])
    assert verdicts(rule, "XPC*A\x07B") == (False, ["6"])


@pytest.mark.parametrize(("value", "fast", "codes"), [
    ("ACME CLINIC", False, ["5"]), ("ACME", True, []), ("AC", False, ["4"]), ("ACME ", False, ["6"]),
    ("AC\x07E", False, ["6"]), ("ACÉE", False, ["6"]), ("A:CE", False, ["6"]), ("A^CE", False, ["12"]),
])
def test_text(value: str, fast: bool, codes: list[str]) -> None:
    rule = segment("XAN", [el(1, "R", "AN", 3, 10), el(2, "S", "AN", 1, 2)])
    assert verdicts(rule, f"XAN*{value}") == (fast, codes)


@pytest.mark.parametrize(("value", "fast", "codes"), [
    ("ABCDE", True, []), ("AB   ", True, []), ("     ", True, []), (" AB  ", True, []),
    ("ABCD", False, ["4"]), ("ABCDEF", False, ["5"]), ("AB\x07  ", False, ["6"]),
])
def test_fixed_length_text_may_be_padded_with_spaces(value: str, fast: bool, codes: list[str]) -> None:
    """ISA02, ISA06...: a fixed-length value ends in spaces as padding, never an error; a value
    of varying length ending in a space still takes the full check (an error from its minimum on)."""
    rule = segment("XFX", [el(1, "R", "AN", 5, 5), el(2, "S", "AN", 3, 5)])
    assert verdicts(rule, f"XFX*{value}") == (fast, codes)
    assert verdicts(rule, "XFX*ABCDE*AB ") == (False, [])
    assert verdicts(rule, "XFX*ABCDE*ABC ") == (False, ["6"])


@pytest.mark.parametrize(("value", "fast", "codes"), [
    ("1", True, []), ("1^33^35", True, []), ("1^33^35^47", True, []), ("1^33^35^47^86", False, ["12"]),
    ("1^ZZ", False, ["7"]), ("1^^33", False, []), ("1^", False, []), ("1^3:3", False, ["6"]),
    ("^", False, []),
])
def test_repeated_elements(value: str, fast: bool, codes: list[str]) -> None:
    """Each repetition of a repeatable element is checked as the element; an empty one, or more
    than its maximum use, takes the full check (so does a required element holding only the
    separator, which pyx12 lets pass); in an element that does not repeat it is an error."""
    rule = segment("XRP", [el(1, "R", "ID", 1, 2, {"1", "33", "35", "47", "86"}, max_use=4), el(2, "R", "AN", 1, 5)])
    assert verdicts(rule, f"XRP*{value}*A") == (fast, codes)
    assert verdicts(rule, "XRP*1*A^B") == (False, ["12"])
    assert verdicts(rule, "XRP*1^33*A", r="") == (False, ["5", "7"])  # no repetition separator: one value
    assert verdicts(rule, "XRP*1^33*A", r="!") == (False, ["5", "7"])


def test_envelope_segments_take_the_fast_path_and_agree() -> None:
    """ISA and GS are checked through their fast tests too (ISA with no separator but "\x00")."""
    from edi.x12.validator import _control_grammar

    control = _control_grammar("00501")
    isa = control.node_by_path("/ISA_LOOP/ISA")
    gs = control.node_by_path("/ISA_LOOP/GS_LOOP/GS")
    good = "ISA*00*          *00*          *ZZ*SIMPLAN01      *ZZ*ENGINE01       *240501*1015*^*00501*000000701*0*P*:"
    assert verdicts(isa, good, c="\x00", r="") == (True, [])
    for i, bad in [(9, "240230"), (9, "2405011"), (10, "2460"), (6, "SIMPLAN01"), (13, "00000070A"), (1, "99"),
                   (16, "")]:
        seg = good.split("*")
        seg[i] = bad
        fast, codes = verdicts(isa, "*".join(seg), c="\x00", r="")
        assert not fast and codes, (i, bad)
    gs_good = "GS*HP*SIMPLAN01*ENGINE01*20240501*1015*703*X*005010X221A1"
    assert verdicts(gs, gs_good, r="") == (True, [])
    for i, bad in [(4, "20240230"), (5, "2500"), (6, "7O3"), (8, "005010X999"), (2, "A")]:
        seg = gs_good.split("*")
        seg[i] = bad
        fast, codes = verdicts(gs, "*".join(seg), r="")
        assert not fast and codes, (i, bad)


@pytest.mark.parametrize(("dt", "value", "fast", "codes"), [
    ("N0", "123", True, []), ("N0", "-123", True, []), ("N0", "12345", False, ["5"]), ("N0", "1.5", False, ["6"]),
    ("N2", "1", True, []), ("R", "125.50", True, []), ("R", "-0.5", True, []), ("R", ".5", True, []),
    ("R", "1234567.5", False, ["5"]), ("R", "1.2.3", False, ["6"]), ("R", "12a", False, ["6"]),
])
def test_numbers(dt: str, value: str, fast: bool, codes: list[str]) -> None:
    rule = segment("XNR", [el(1, "R", dt, 1, 4 if dt != "R" else 6)])
    assert verdicts(rule, f"XNR*{value}") == (fast, codes)


@pytest.mark.parametrize("seps", [":^", "!@", "A.", "", "|~", "-"])
def test_text_class_is_the_character_set_without_separators(seps: str) -> None:
    from edi.x12.elements import _BAD_CHAR
    from edi.x12.fastcheck import _text_pattern

    text = _text_pattern(1, 2, frozenset(seps)).fullmatch
    for ch in map(chr, range(0x3000)):
        assert (text(ch) is not None) is (_BAD_CHAR.search(ch) is None and ch not in seps and ch != " "), repr(ch)
    fixed = _text_pattern(2, 2, frozenset(seps)).fullmatch
    assert fixed("  ") and fixed("B ")


def test_separators_are_baked_into_each_compiled_test() -> None:
    """Characters that are separators in one interchange are data in another: each pair of
    separators has its own test, and a value holding one is handed over."""
    rule = segment("XSP", [el(1, "R", "AN", 1, 10), el(2, "S", "ID", 1, 3, {"A!B", "OK"}), el(3, "S", "R", 1, 10)])
    assert verdicts(rule, "XSP*A!B*A!B*1.5") == (True, [])
    assert verdicts(rule, "XSP*A!B*OK", c="!", r="@") == (False, ["6"])
    assert verdicts(rule, "XSP*AB*A!B", c="!", r="@") == (False, ["6"])
    assert verdicts(rule, "XSP*A@B*OK", c="!", r="@") == (False, ["12"])
    # separators a number may hold: a composite or repetition inside an amount
    assert verdicts(rule, "XSP*AB*OK*1.5", c=".", r="@") == (False, ["6"])
    assert verdicts(rule, "XSP*AB*OK*-1", c="!", r="-") == (False, ["12"])
    assert verdicts(rule, "XSP*AB*OK*-1", c="!", r="@") == (True, [])
    assert fast_check(rule, ":", "^") is fast_check(rule, ":", "^")
    assert fast_check(rule, ":", "^") is not fast_check(rule, "!", "@")


# ------------------------------------------------------------------ elements present or not


def test_missing_required_and_unused_elements_are_handed_over() -> None:
    rule = segment("XRQ", [el(1, "R", "AN", 1, 5), el(2, "S", "AN", 1, 5), el(3, "N", "AN", 1, 5),
                           el(4, "R", "AN", 1, 5), el(5, "S", "XX", 1, 5)])
    assert verdicts(rule, "XRQ*A**") == (False, ["1"])  # XRQ04 missing
    assert verdicts(rule, "XRQ*A") == (False, ["1"])
    assert verdicts(rule, "XRQ**B**D") == (False, ["1"])
    assert verdicts(rule, "XRQ*A*B**D") == (True, [])
    assert verdicts(rule, "XRQ*A*B*C*D") == (False, ["I10"])  # not used in the guide
    assert verdicts(rule, "XRQ*A*B**D*E") == (False, [])  # a type without a fast test: full check
    assert verdicts(rule, "XRQ*A*B**D**") == (False, ["3"])  # more elements than the segment has
    assert verdicts(rule, "XRQ*A*B**D*") == (True, [])


def test_composites() -> None:
    rule = segment("XCM", [
        comp(1, "R", [el(1, "R", "ID", 2, 2, {"HC", "WK"}), el(2, "R", "AN", 1, 48), el(3, "S", "AN", 2, 2),
                      el(4, "N", "AN", 1, 80), el(5, "S", "AN", 2, 2)]),
        comp(2, "S", [el(1, "R", "ID", 2, 2, {"AB"}), el(2, "S", "AN", 1, 5), el(3, "N", "AN", 1, 5),
                      el(4, "N", "AN", 1, 5)]),
        comp(3, "N", [el(1, "S", "AN", 1, 5)]),
    ])
    assert verdicts(rule, "XCM*HC:99213") == (True, [])
    assert verdicts(rule, "XCM*HC:99213:25") == (True, [])
    assert verdicts(rule, "XCM*HC:99213:25::") == (True, [])
    assert verdicts(rule, "XCM*HC:99213:25::59*AB") == (True, [])
    assert verdicts(rule, "XCM*HC:99213:25:X") == (False, ["I10"])
    assert verdicts(rule, "XCM*HC:99213:::::") == (False, ["13"])
    assert verdicts(rule, "XCM*HC") == (False, ["1"])
    assert verdicts(rule, "XCM*ZZ:99213") == (False, ["7"])
    assert verdicts(rule, "XCM*") == (False, ["1"])
    assert verdicts(rule, "XCM*HC:99213*AB:1") == (True, [])
    assert verdicts(rule, "XCM*HC:99213*AB:1::Q") == (False, ["I10"])
    assert verdicts(rule, "XCM*HC:99213*AB:1::") == (True, [])
    assert verdicts(rule, "XCM*HC:99213*AB:1:::") == (False, ["13"])
    assert verdicts(rule, "XCM*HC:99213*:1") == (True, [])  # first of a situational composite: pyx12 is silent
    assert verdicts(rule, "XCM*HC:99213**A") == (False, ["I10"])
    assert verdicts(rule, "XCM*HC:99^213") == (False, ["12"])


@pytest.mark.parametrize(("syntax", "text", "codes"), [
    (("P", (1, 2)), "XSY*A*B", []), (("P", (1, 2)), "XSY", []), (("P", (1, 2)), "XSY*A", ["2"]),
    (("P", (1, 2)), "XSY**B", ["2"]),
    (("R", (1, 3)), "XSY***C", []), (("R", (1, 3)), "XSY*A", []), (("R", (1, 3)), "XSY**B", ["2"]),
    (("E", (1, 2)), "XSY*A", []), (("E", (1, 2)), "XSY*A*B", ["10"]),
    (("C", (1, 2, 3)), "XSY*A*B*C", []), (("C", (1, 2, 3)), "XSY**B", []), (("C", (1, 2, 3)), "XSY*A*B", ["2"]),
    (("L", (1, 2, 3)), "XSY*A**C", []), (("L", (1, 2, 3)), "XSY*A", ["2"]),
    (("R", (3, 9)), "XSY***C", []), (("R", (3, 9)), "XSY*A", ["2"]),  # a rule naming a position past the last
])
def test_syntax_rules(syntax: tuple, text: str, codes: list[str]) -> None:
    rule = segment("XSY", [el(1), el(2), el(3)], [syntax])
    assert verdicts(rule, text) == (not codes, codes)


@pytest.mark.parametrize(("syntax", "text", "codes"), [
    (("P", (1, 2)), "XSY*A*B", []), (("R", (1, 3)), "XSY*A*B", []), (("C", (3, 1, 2)), "XSY*A*B*C", []),
    (("L", (3, 1)), "XSY*A*B*C", []),  # satisfied by the required elements: not tested again
    (("E", (1, 2)), "XSY*A*B", ["10"]),  # ... but "only one of" two required ones never is
    (("P", (1, 3)), "XSY*A*B", ["2"]), (("C", (3, 1, 4)), "XSY*A*B*C", ["2"]),
])
def test_syntax_rules_over_required_elements(syntax: tuple, text: str, codes: list[str]) -> None:
    rule = segment("XSY", [el(1, "R"), el(2, "R"), el(3), el(4)], [syntax])
    assert verdicts(rule, text) == (not codes, codes)


def test_qualified_value_follows_its_format_qualifier() -> None:
    """A 1251 value takes the format its 1250 qualifier names (D8 or RD8 here)."""
    rule = segment("XDT", [el(1, "R", "ID", 2, 3, {"D8", "RD8"}, data_ele="1250"), el(2, "R", "AN", 1, 35, data_ele="1251")])
    assert verdicts(rule, "XDT*D8*20240229") == (True, [])
    assert verdicts(rule, "XDT*RD8*20240101-20240131") == (True, [])
    assert verdicts(rule, "XDT*D8*20230229") == (False, ["8"])
    assert verdicts(rule, "XDT*D8*ABC") == (False, ["8"])


# ------------------------------------------------------------------ the guides themselves


def _mutations(rule: SegmentRule, rng: random.Random) -> list[str]:
    """Values for every element of `rule`: its codes, a date, times, text and numbers, each
    good or bad, composites of them, separators inside, empty ones."""
    pool = ["", "A", "ZZ", "1", "-5", "1.5", "125.00", "1.2.3", "20240229", "20230229", "20241231-20240101",
            "20240101-20241231", "1230", "2400", "A B", "AB ", "X" * 40, "HC:99213", "A:B:C:D:E:F:G:H:I:J",
            "A^B", "12a", "ÉÈ", " ", "0", "00000000000000000000"]
    out = []
    for child in rule.children:
        subs = child.components if isinstance(child, CompositeRule) else [child]
        for sub in subs:
            pool.extend(sorted(sub.codes or ())[:3])
    for _ in range(40):
        seg = [rule.id]
        for child in rule.children:
            if isinstance(child, CompositeRule):
                parts = [rng.choice(pool) if rng.random() < 0.8 else "" for _ in range(rng.randint(1, len(child.components) + 1))]
                for j, sub in enumerate(child.components[: len(parts)]):
                    if sub.codes and rng.random() < 0.7:
                        parts[j] = sorted(sub.codes)[rng.randrange(len(sub.codes))]
                seg.append(":".join(parts))
            elif child.codes and rng.random() < 0.7:
                seg.append(sorted(child.codes)[rng.randrange(len(child.codes))])
            else:
                seg.append(rng.choice(pool) if rng.random() < 0.7 else "")
        while len(seg) > 1 and seg[-1] == "" and rng.random() < 0.7:
            seg.pop()
        out.append("*".join(seg))
    return out


@pytest.mark.parametrize("map_name", MAPS)
def test_fast_tests_of_every_segment_of_a_guide_agree_with_the_full_check(map_name: str) -> None:
    grammar = load_grammar(find_map_file(map_name))
    rng = random.Random(map_name)
    accepted = 0
    for rule in grammar.nodes:
        if isinstance(rule, SegmentRule):
            for text in _mutations(rule, rng):
                accepted += verdicts(rule, text)[0]
    assert accepted > 20  # the mutations include valid segments, which the fast tests accept


def test_sample_files_take_the_fast_path_where_they_are_valid() -> None:
    """On the guides' own samples nearly every clean segment is recognised without the full check."""
    from edi.x12.reader import X12Reader
    from edi.x12.validator import _default_resolver

    clean = fast = 0
    for path in SAMPLES:
        reader = X12Reader(path.read_bytes())
        grammar = None
        for seg in reader:
            if seg[0] == "GS":
                resolved = _default_resolver("00501", seg[1], seg[8])
                grammar = load_grammar(resolved[0]) if resolved else None
            if grammar is None or seg[0] in ("ISA", "GS", "GE", "IEA"):
                continue
            d = reader.delimiters
            for rule in grammar.nodes:
                if isinstance(rule, SegmentRule) and rule.matches(seg, d.component):
                    ok = fast_check(rule, d.component, d.repetition)(seg)
                    errors = check_segment(rule, seg, d.component, d.repetition)
                    assert not (ok and errors), (path.name, seg)
                    if not errors:
                        clean += 1
                        fast += ok
    assert clean > 300
    assert fast >= 0.9 * clean, f"only {fast} of {clean} clean segments took the fast path"


# ------------------------------------------------------------------ placement shortcuts

EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"


def _documents() -> list[bytes]:
    """The samples, and example 1 with each loop-starting segment given twice (its loop then
    repeats more than its maximum, reported by the "enter" shortcut) or each segment dropped."""
    docs = [p.read_bytes() for p in SAMPLES]
    segs = [s.strip() for s in EXAMPLE1.read_text().split("~") if s.strip()]
    for i, s in enumerate(segs):
        if s.split("*")[0] not in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
            docs.append(("~".join(segs[: i + 1] + [s] + segs[i + 1:]) + "~").encode())
            docs.append(("~".join(segs[:i] + segs[i + 1:]) + "~").encode())
    return docs


def test_placement_shortcuts_agree_with_replaying_every_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The validator counts a plain "one more of this segment" or "this loop begins again" plan
    itself (`Walker.enter`) instead of replaying it; every finding must be as the replay makes it."""
    from edi.x12 import walker
    from edi.x12.validator import validate

    docs = _documents()
    entered = []
    real_enter = walker.Walker.enter

    def spy(self: walker.Walker, loop: LoopRule, first: SegmentRule) -> int:
        n = real_enter(self, loop, first)
        entered.append(n > loop.repeat)
        return n

    monkeypatch.setattr(walker.Walker, "enter", spy)
    fast = [validate(doc).to_dict(include_values=True) for doc in docs]
    assert sum(entered) >= 3 and len(entered) > 100  # loops over their maximum among them
    assert any(f["code"] == "4" for r in fast for i in r["interchanges"] for g in i["groups"]
               for t in g["transactions"] for f in t["findings"])

    real_plan = walker.Walker.plan

    def replayed(self: walker.Walker, key: tuple, start: object, seg: list[str]) -> tuple:
        target, ops, _, _ = real_plan(self, key, start, seg)  # type: ignore[arg-type]
        return target, ops, None, None

    monkeypatch.setattr(walker.Walker, "plan", replayed)
    walker._SHARED_PLANS.clear()
    try:
        slow = [validate(doc).to_dict(include_values=True) for doc in docs]
    finally:
        walker._SHARED_PLANS.clear()
    assert fast == slow


def test_loop_index_answers_as_a_scan_of_the_items() -> None:
    """`Loop.first`, `segments`, `loops` and `loop` read one index built on first use; each must
    answer as the plain scan of the loop's items does, for ids and qualifiers present or not."""
    from edi.mappers.x12tree import Loop, Seg, read_transactions

    def loops_of(loop: Loop) -> list[Loop]:
        out = [loop]
        for it in loop.items:
            if isinstance(it, Loop):
                out += loops_of(it)
        return out

    checked = 0
    for path in SAMPLES:
        for t in read_transactions(path.read_bytes()):
            for loop in loops_of(t.body):
                segs = [it for it in loop.items if isinstance(it, Seg)]
                subs = [it for it in loop.items if isinstance(it, Loop)]
                ids = {s.id for s in segs} | {"ZZZ"}
                for seg_id in sorted(ids):
                    quals = sorted({s.get(1) for s in segs if s.id == seg_id} | {"??"})
                    for q in [None, *quals, tuple(quals[:2]), ()]:
                        want = [s for s in segs if s.id == seg_id and (
                            q is None or (s.get(1) == q or s.get(1) in q if isinstance(q, tuple) else s.get(1) == q))]
                        assert loop.segments(seg_id, q) == want
                        assert loop.first(seg_id, q) is (want[0] if want else None)
                        checked += 1
                for loop_id in sorted({s.id for s in subs} | {"9999"}):
                    want_loops = [s for s in subs if s.id == loop_id]
                    assert loop.loops(loop_id) == want_loops
                    assert loop.loop(loop_id) is (want_loops[0] if want_loops else None)
                assert loop.segments() == segs and loop.loops() == subs
    assert checked > 500


def test_enter_leaves_the_counts_replay_leaves() -> None:
    """`Walker.enter` is `replay` of a one-step "enter" plan: the same counts after every segment."""
    from edi.x12.reader import X12Reader
    from edi.x12.validator import _default_resolver
    from edi.x12.walker import Walker, key_value

    entered = 0
    for doc in _documents():
        fast, slow = Walker(), Walker()
        node = grammar = None
        reader = X12Reader(doc)
        for seg in reader:
            if seg[0] == "GS":
                resolved = _default_resolver("00501", seg[1], seg[8])
                grammar = load_grammar(resolved[0]) if resolved else None
                node = grammar.node_by_path("/ISA_LOOP/GS_LOOP/GS") if grammar else None
            if node is None or seg[0] in ("ISA", "GS"):
                continue
            comp = reader.delimiters.component
            key = (node, seg[0], *[key_value(seg, p, comp) for p in grammar.key_fields.get(seg[0], ())])
            target, ops, _, enter = fast.plan(key, node, seg)
            if enter is not None:
                fast.enter(*enter)
                entered += 1
            else:
                fast.replay(ops, seg[0])
            slow.replay(ops, seg[0])
            assert fast.counts == slow.counts
            node = target or node
    assert entered > 100


def test_loop_trees_do_not_depend_on_the_documents_read_before() -> None:
    """`read_document` keeps each segment rule's open-loop chain across documents: a tree must be
    the same whether the chains were worked out for it or left by other documents."""
    from edi.x12 import generic_json

    docs = _documents()[:40] + [p.read_bytes() for p in SAMPLES]
    shared = [generic_json.to_json(doc) for doc in docs + docs[::-1]]
    fresh = []
    for doc in docs + docs[::-1]:
        generic_json._CHAINS.by_rule.clear()
        generic_json._CHAINS.interned.clear()
        fresh.append(generic_json.to_json(doc))
    assert shared == fresh

    def loop_ids(items: list) -> set[str]:
        return {x for it in items if "loop" in it for x in ({it["loop"]} | loop_ids(it["content"]))}

    assert {"2300", "2400", "2100"} <= {x for d in fresh for i in d["interchanges"] for g in i["groups"]
                                         for t in g["transactions"] for x in loop_ids(t["body"])}
