"""Targeted validator cases: one rule broken at a time in demo.example1.837 (an accepted 837P).

Each case edits the sample's text (segments replaced, added or dropped; SE01 recounted unless the
case is about SE01) and asserts the exact findings with their 999/TA1 codes.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from edi.x12.ack import AckNumbers, acknowledge
from edi.x12.findings import ValidationReport
from edi.x12.validator import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"
ELIGIBILITY_271 = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271"
SAMPLES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file() and not p.name.startswith("LICENSE"))

SEGS = [s.strip() for s in EXAMPLE1.read_text().split("~") if s.strip()]
ST, SE, GE, IEA = 2, SEGS.index("SE*40*0021"), SEGS.index("GE*1*1"), SEGS.index("IEA*1*000000907")
ERRATA = ("group", None, None, None, None, "info")


def at(text: str) -> int:
    """Index in SEGS of the segment `text` (whole segment, exactly as in the sample)."""
    return SEGS.index(text)


def replace(old: str, new: str, segs: list[str] | None = None) -> list[str]:
    segs = list(SEGS if segs is None else segs)
    segs[segs.index(old)] = new
    return segs


def recount(segs: list[str]) -> list[str]:
    """SE01 set to the real number of segments of each transaction set."""
    out = list(segs)
    start = None
    for i, s in enumerate(out):
        if s.startswith("ST*"):
            start = i
        elif s.startswith("SE*") and start is not None:
            parts = s.split("*")
            parts[1] = str(i - start + 1)
            out[i] = "*".join(parts)
            start = None
    return out


def x12(segs: list[str], fix_se01: bool = True) -> bytes:
    return ("~\n".join(recount(segs) if fix_se01 else segs) + "~\n").encode()


def rows(report: ValidationReport) -> Counter:
    return Counter(
        (f.level, f.segment_id, f.segment_position, f.element_position, f.component_position, f.code)
        for f in report.all_findings()
        if (f.level, f.segment_id, f.segment_position, f.element_position, f.component_position, f.code) != ERRATA
    )


def one_tx(report: ValidationReport):  # noqa: ANN201
    (isa,) = report.interchanges
    (group,) = isa.groups
    (tx,) = group.transactions
    return isa, group, tx


def test_the_base_sample_is_accepted() -> None:
    report = validate(x12(SEGS))
    assert rows(report) == Counter() and report.accepted


# ------------------------------------------------------------------ envelope (SNIP 1)


def test_se01_wrong_is_ik5_4() -> None:
    report = validate(x12(replace("SE*40*0021", "SE*41*0021"), fix_se01=False))
    assert rows(report) == Counter({("transaction", None, None, None, None, "4"): 1})
    isa, group, tx = one_tx(report)
    assert (tx.ack_code, group.ack_code, isa.ta1_code) == ("R", "R", "A")


def test_se02_mismatch_is_ik5_3() -> None:
    report = validate(x12(replace("SE*40*0021", "SE*40*0022")))
    assert rows(report) == Counter({("transaction", None, None, None, None, "3"): 1})
    assert one_tx(report)[2].ack_code == "R"


def test_ge01_wrong_is_ak905_5() -> None:
    report = validate(x12(replace("GE*1*1", "GE*2*1")))
    assert rows(report) == Counter({("group", None, None, None, None, "5"): 1})
    isa, group, tx = one_tx(report)
    assert (tx.ack_code, group.ack_code, report.accepted) == ("A", "R", False)


def test_ge02_mismatch_is_ak905_4() -> None:
    report = validate(x12(replace("GE*1*1", "GE*1*2")))
    assert rows(report) == Counter({("group", None, None, None, None, "4"): 1})
    assert one_tx(report)[1].ack_code == "R"


def test_iea01_wrong_is_ta1_021() -> None:
    report = validate(x12(replace("IEA*1*000000907", "IEA*2*000000907")))
    assert rows(report) == Counter({("interchange", None, None, None, None, "021"): 1})
    isa = report.interchanges[0]
    assert (isa.ta1_code, isa.ta1_note, report.accepted) == ("R", "021", False)


def test_iea02_mismatch_is_ta1_001() -> None:
    report = validate(x12(replace("IEA*1*000000907", "IEA*1*000000908")))
    assert rows(report) == Counter({("interchange", None, None, None, None, "001"): 1})
    assert (report.interchanges[0].ta1_code, report.interchanges[0].ta1_note) == ("R", "001")


@pytest.mark.parametrize(
    ("old", "new", "position", "note"),
    [
        ("*131031*1147*", "*131331*1147*", 9, "014"),  # ISA09 month 13: Invalid Interchange Date Value
        ("*131031*1147*", "*131031*2599*", 10, "015"),  # ISA10 25:99: Invalid Interchange Time Value
        ("*000000907*1*T*", "*000000907*2*T*", 14, "019"),  # ISA14 not 0/1: Invalid Acknowledgment Requested
        ("*000000907*1*T*", "*000000907*1*X*", 15, "020"),  # ISA15 not P/T: Invalid Test Indicator Value
    ],
)
def test_isa_element_errors_are_ta1_notes(old: str, new: str, position: int, note: str) -> None:
    report = validate(x12(replace(SEGS[0], SEGS[0].replace(old, new))))
    assert rows(report) == Counter({("interchange", None, None, position, None, note): 1})
    assert report.interchanges[0].ta1_note == note


def test_duplicate_st02_is_ik5_23() -> None:
    body = SEGS[ST : SE + 1]
    report = validate(x12(SEGS[:GE] + body + ["GE*2*1"] + SEGS[IEA:]))
    (isa,) = report.interchanges
    (group,) = isa.groups
    first, second = group.transactions
    assert rows(report) == Counter({("transaction", None, None, None, None, "23"): 1})
    assert [f.code for f in second.findings] == ["23"] and first.findings == []
    assert (first.ack_code, second.ack_code, group.ack_code) == ("A", "R", "P")


def test_duplicate_gs06_is_ak905_19() -> None:
    """BUG (edi/x12/validator.py, copied from pyx12's x12file): a GS06 repeated within one
    interchange is reported with AK905 "6" (Group Control Number Violates Syntax); the X12 code
    list of AK905 (element 716, kept by 005010X231A1) has "19" Functional Group Control Number
    not Unique within Interchange for exactly this. Proposed fix: use "19" for the duplicate
    group finding (and record the pyx12 difference in tests/agreement/expected_differences.py)."""
    group = SEGS[1 : GE + 1]
    report = validate(x12(SEGS[:IEA] + group + ["IEA*2*000000907"]))
    assert rows(report) == Counter({("group", None, None, None, None, "19"): 1})
    assert [g.ack_code for g in report.interchanges[0].groups] == ["A", "R"]


def test_missing_se_at_end_of_file_is_ik5_2() -> None:
    report = validate(x12(SEGS[:SE]))  # the file stops after the last service line
    assert rows(report) == Counter(
        {
            ("transaction", None, None, None, None, "2"): 1,  # SE missing
            ("group", None, None, None, None, "3"): 1,  # GE missing
            ("interchange", None, None, None, None, "023"): 1,  # IEA missing
        }
    )
    assert one_tx(report)[2].ack_code == "R"


def test_se_dropped_before_ge_is_ik5_2() -> None:
    report = validate(x12(SEGS[:SE] + SEGS[GE:]))
    assert rows(report) == Counter(
        {
            ("transaction", None, None, None, None, "2"): 1,
            # the Required SE, detected at the GE, at the position of the set's last segment
            ("segment", "SE", SE - ST, None, None, "3"): 1,
        }
    )


def test_gs08_not_supported_is_ak905_2_and_ik5_i6() -> None:
    gs = SEGS[1].replace("005010X222A2", "005010X999A1")
    report = validate(x12(replace(SEGS[1], gs)))
    assert rows(report) == Counter(
        {
            ("group", None, None, None, None, "2"): 1,  # no guide for GS08
            ("group", None, None, 8, None, "2"): 1,  # GS08 is not a code of the control map
            ("transaction", None, None, None, None, "I6"): 1,  # implementation convention not supported
        }
    )
    isa, group, tx = one_tx(report)
    assert (tx.ack_code, group.ack_code) == ("R", "R")


def test_isa11_equal_to_isa16_is_an_envelope_error() -> None:
    """BUG (edi/x12/reader.py + validator.py): in 5010 ISA11 is the repetition separator, which
    "must be different than the data element separator, component element separator, and the
    segment terminator". The reader silently treats ISA11 ":" (= ISA16) as "no repetition
    separator" and the interchange is accepted. Proposed fix: for ISA12 00501 the validator
    reports an ISA11 that is alphanumeric or equal to another separator as TA1 note 016
    (Invalid Interchange Standards Identifier Value) at element 11."""
    isa = SEGS[0].replace("*^*00501*", "*:*00501*")
    report = validate(x12(replace(SEGS[0], isa)))
    isa_result = report.interchanges[0]
    assert isa_result.ta1_code == "R"
    assert [(f.element_position, f.code) for f in isa_result.findings] == [(11, "016")]


def test_st03_that_differs_from_gs08_is_ik4_7() -> None:
    report = validate(x12(replace(SEGS[ST], "ST*837*0021*005010X222A1")))
    assert rows(report) == Counter({("element", "ST", 1, 3, None, "7"): 1})


# ------------------------------------------------------------------ segments (IK3)

SEGMENT_CASES = {
    # a Required segment dropped: 2010AA N4 -> IK304 3, reported at the next segment's position
    "required-segment-missing": (
        SEGS[: at("N4*MIAMI*FL*331110000")] + SEGS[at("N4*MIAMI*FL*331110000") + 1 :],
        {("segment", "N4", 10, None, None, "3")},
    ),
    # a segment id no guide knows -> IK304 1
    "unknown-segment": (
        SEGS[:13] + ["ZZZ*1"] + SEGS[13:],
        {("segment", "ZZZ", 12, None, None, "1")},
    ),
    # 2010CA DMG twice (max use 1) -> IK304 5
    "segment-over-max-use": (
        SEGS[: at("DMG*D8*19730501*M") + 1] + ["DMG*D8*19730501*M"] + SEGS[at("DMG*D8*19730501*M") + 1 :],
        {("segment", "DMG", 25, None, None, "5")},
    ),
    # the whole 2010AA Billing Provider Name loop twice (repeat 1) -> IK304 4 at the second NM1*85
    "loop-over-max-repeat": (
        SEGS[:13] + SEGS[9:13] + SEGS[13:],
        {("segment", "NM1", 12, None, None, "4")},
    ),
    # REF*EI*587654321* : a trailing element separator -> IK304 8
    "trailing-element-separator": (
        replace("REF*EI*587654321", "REF*EI*587654321*"),
        {("segment", "REF", 11, None, None, "8")},
    ),
}


@pytest.mark.parametrize("name", list(SEGMENT_CASES))
def test_segment_rules(name: str) -> None:
    segs, expected = SEGMENT_CASES[name]
    report = validate(x12(segs))
    assert rows(report) == Counter(expected)
    assert one_tx(report)[2].ack_code == "R"


# ------------------------------------------------------------------ elements (IK4)

NM1_85 = "NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953"

ELEMENT_CASES = {
    # NM103 61 characters (max 60) -> 5
    "too-long": (NM1_85, NM1_85.replace("BEN KILDARE SERVICE", "B" * 61), {("element", "NM1", 8, 3, None, "5")}),
    # N402 one character (min 2) -> 4
    "too-short": ("N4*MIAMI*FL*331110000", "N4*MIAMI*F*331110000", {("element", "N4", 10, 2, None, "4")}),
    # DMG03 gender X (F, M or U) -> 7
    "bad-code": ("DMG*D8*19730501*M", "DMG*D8*19730501*X", {("element", "DMG", 24, 3, None, "7")}),
    # DMG02 Feb 31st -> 8
    "bad-date": ("DMG*D8*19730501*M", "DMG*D8*19730231*M", {("element", "DMG", 24, 2, None, "8")}),
    # BHT05 25:61 -> 9
    "bad-time": (
        "BHT*0019*00*244579*20061015*1023*CH",
        "BHT*0019*00*244579*20061015*2561*CH",
        {("element", "BHT", 2, 5, None, "9")},
    ),
    # CLM02 (R, decimal) with a letter O -> 6
    "non-numeric-R": (
        "CLM*26463774*100.00***11:B:1*Y*A*Y*I",
        "CLM*26463774*1O0.00***11:B:1*Y*A*Y*I",
        {("element", "CLM", 25, 2, None, "6")},
    ),
    # LX01 (N0) "A": not a number -> 6 (no sequence complaint about a value that is not a number)
    "non-numeric-N0": ("LX*1", "LX*A", {("element", "LX", 28, 1, None, "6")}),
    # NM103 (Required) empty -> 1
    "required-element-missing": (
        NM1_85, NM1_85.replace("BEN KILDARE SERVICE", ""), {("element", "NM1", 8, 3, None, "1")}
    ),
    # NM106 name prefix is Not Used in 2010AA -> I10
    "not-used-element": (
        NM1_85,
        "NM1*85*2*BEN KILDARE SERVICE***DR**XX*1912301953",
        {("element", "NM1", 8, 6, None, "I10")},
    ),
    # syntax rule P0809: NM108 without NM109 -> 2 at NM109
    "paired-rule": (NM1_85, "NM1*85*2*BEN KILDARE SERVICE*****XX", {("element", "NM1", 8, 9, None, "2")}),
    # N3 has two elements; a third -> 3 at position 3
    "too-many-elements": (
        "N3*234 SEAWAY ST", "N3*234 SEAWAY ST*SUITE 1*EXTRA", {("element", "N3", 9, 3, None, "3")}
    ),
    # SV101 has 8 components; a ninth -> 13 at component 9
    "too-many-components": (
        "SV1*HC:99213*40.00*UN*1.00***1",
        "SV1*HC:99213:::::::X*40.00*UN*1.00***1",
        {("element", "SV1", 29, 1, 9, "13")},
    ),
    # HL01 5 where 2 is next -> 7 on HL01
    "hl01-out-of-sequence": ("HL*2*1*22*1", "HL*5*1*22*1", {("element", "HL", 15, 1, None, "7")}),
    # HL02 7: no HL 7 before it -> 7 on HL02
    "hl02-unknown-parent": ("HL*2*1*22*1", "HL*2*7*22*1", {("element", "HL", 15, 2, None, "7")}),
    # second service line numbered 3 -> 7 on LX01
    "lx01-out-of-sequence": ("LX*2", "LX*3", {("element", "LX", 31, 1, None, "7")}),
}


@pytest.mark.parametrize("name", list(ELEMENT_CASES))
def test_element_rules(name: str) -> None:
    old, new, expected = ELEMENT_CASES[name]
    report = validate(x12(replace(old, new)))
    assert rows(report) == Counter(expected)
    isa, group, tx = one_tx(report)
    assert (tx.ack_code, group.ack_code, report.accepted) == ("R", "R", False)


EB = "EB*1**1^33^35^47^86^88^98^AL^MH^UC~"
SERVICE_TYPES = ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]


@pytest.mark.parametrize(("count", "expected"), [(99, set()), (100, {("element", "EB", 19, 3, None, "12")})])
def test_repeated_element_over_its_maximum_is_ik4_12(count: int, expected: set) -> None:
    text = ELIGIBILITY_271.read_text()
    assert EB in text
    reps = "^".join((SERVICE_TYPES * 10)[:count])
    report = validate(text.replace(EB, f"EB*1**{reps}~").encode())
    assert rows(report) == Counter(expected)
    assert report.accepted is (count == 99)


def test_a_bad_repetition_is_reported_with_its_repeat_position() -> None:
    report = validate(ELIGIBILITY_271.read_text().replace(EB, "EB*1**1^33^ZZ~").encode())
    (f,) = list(report.all_findings())
    assert (f.segment_id, f.element_position, f.repeat_position, f.code) == ("EB", 3, 3, "7")


@pytest.mark.parametrize(
    ("old", "new", "position"),
    [
        (NM1_85, NM1_85.replace("BEN KILDARE", "BEN^KILDARE"), 3),  # NM103 is not repeatable
        ("SV1*HC:99213*40.00*UN*1.00***1", "SV1*HC:99^213*40.00*UN*1.00***1", 1),  # nor is SV101
    ],
    ids=["simple-element", "composite"],
)
def test_repetition_separator_in_a_non_repeating_element_is_an_error(old: str, new: str, position: int) -> None:
    """BUG (edi/x12/elements.py and fastcheck.py): ISA11 "^" is a delimiter in 5010 and cannot be
    data, so "BEN^KILDARE" is two repetitions of NM103, which has a maximum use of 1. The checks
    only look for the repetition separator in repeatable elements (max_use > 1) and accept the
    value as text. Proposed fix: in check_segment, a value of a non-repeatable element or
    composite that contains the repetition separator is IK403 12 (too many repetitions), as the
    component separator in a simple element already is IK403 6; fast_check must then fail such
    values (test `r in v` for every element, not only repeatable ones)."""
    report = validate(x12(replace(old, new)))
    found = [f for f in report.all_findings() if f.code != "info"]
    assert len(found) == 1, "the repeated value is accepted as text"
    (f,) = found
    assert (f.level, f.segment_id, f.element_position) == ("element", new[:3].rstrip("*"), position)
    assert f.code in ("12", "6")
    assert one_tx(report)[2].ack_code == "R"


# ------------------------------------------------------------------ reader problems


def test_empty_segment_rejects_the_transaction() -> None:
    # "~~": no segment at all, so nothing for an IK3 (IK301 needs a segment id) and nothing for SE01
    report = validate(x12(SEGS).replace(b"REF*EI*587654321~", b"REF*EI*587654321~~"))
    assert rows(report) == Counter({("transaction", None, None, None, None, "I5"): 1})
    assert one_tx(report)[2].ack_code == "R"


@pytest.mark.parametrize("data", [b"", b"\r\n  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom-only"])
def test_input_without_any_interchange_is_unreadable(data: bytes) -> None:
    """BUG (edi/x12/validator.py): input with no ISA at all (an empty or blank file) gives a report
    with no interchange and no finding: not `unreadable`, so `edi validate` calls it REJECTED with
    exit code 1 and says nothing, where the CLI promises exit 2 for input that cannot be read as
    X12. Proposed fix: at the end of Validator.run, when the reader saw no interchange and no
    finding was made, add Finding("interchange", "unreadable", "No X12 interchange in the input")."""
    report = validate(data)
    assert report.interchanges == []
    assert report.unreadable and not report.accepted
    assert [(f.level, f.code) for f in report.findings] == [("interchange", "unreadable")]


def test_unterminated_last_segment_is_a_file_finding() -> None:
    report = validate(x12(SEGS).rstrip(b"~\n"))
    assert [(f.level, f.code) for f in report.findings] == [("interchange", "unterminated")]
    assert not report.accepted


# ------------------------------------------------------------------ never raises


def _check_never_raises(data: bytes) -> None:
    report = validate(data)
    assert isinstance(report, ValidationReport)
    for isa in report.interchanges:  # the acknowledgment of anything readable can be built too
        acknowledge(isa, AckNumbers(1, 1))


def test_random_bytes_never_raise() -> None:
    rng = random.Random(5010)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(400)))
        _check_never_raises(data)
        _check_never_raises(b"ISA" + data)
    unreadable = validate(b"\x00garbage")
    assert unreadable.unreadable and not unreadable.accepted


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_truncated_files_never_raise(sample: Path) -> None:
    data = sample.read_bytes()
    for cut in range(0, len(data), 37):
        _check_never_raises(data[:cut])


def test_mutated_files_never_raise() -> None:
    rng = random.Random(837)
    for sample in SAMPLES:
        data = bytearray(sample.read_bytes())
        for _ in range(20):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            _check_never_raises(bytes(mutated))


# ------------------------------------------------------------------ PHI


def test_messages_never_carry_the_bad_value() -> None:
    dob = "19730231"
    report = validate(x12(replace("DMG*D8*19730501*M", f"DMG*D8*{dob}*M")))
    (f,) = [f for f in report.all_findings() if f.code != "info"]
    assert (f.segment_id, f.element_position, f.code) == ("DMG", 2, "8")
    assert f.bad_value == dob
    assert dob not in f.message and dob not in repr(f)
    assert all(dob not in g.message for g in report.all_findings())
    assert dob not in str(report.to_dict())
    assert dob in str(report.to_dict(include_values=True))


# ------------------------------------------------------------------ LS/LE bounded loops (271 2120C)

S271 = (FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271").read_bytes()


def _271_findings(data: bytes) -> set[tuple]:
    (tx,) = validate(data).transactions()
    return {(f.level, f.segment_id, f.code) for f in tx.findings}


def test_ls_without_le_is_a_missing_le() -> None:
    assert b"LE*2120~" in S271
    assert _271_findings(S271.replace(b"LE*2120~", b"", 1).replace(b"SE*22*", b"SE*21*")) == {("segment", "LE", "3")}


def test_le_without_ls_is_unexpected() -> None:
    broken = S271.replace(b"LS*2120~", b"", 1).replace(b"SE*22*", b"SE*21*")
    assert ("segment", "LE", "2") in _271_findings(broken)


def test_sample_271_bounded_loop_is_accepted() -> None:
    assert validate(S271).accepted
