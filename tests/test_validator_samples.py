"""Every sample under tests/fixtures/x12/ judged as its implementation guide judges it.

For each sample: the verdict (report.accepted), the TA1 code/note, each group's AK901 and each
transaction set's IK501, and the exact multiset of findings as
``(level, segment_id, segment_position, element_position, component_position, code)``.
Every expected finding carries a comment saying why the guide demands it; a sample with no
finding is one the guide accepts as is.

Where the validator disagrees with the guide the expectation is the guide's (see the report
of the change that added this file): the 837P billing provider (2010AA) and service facility
(2310C) N403 must hold the full nine-digit ZIP code (005010X222A1, as in the 837I X223A2 where
the pyx12 map does carry the [0-9]{9} pattern), but pyx12's 837P map has no such pattern, so
the validator accepts five-digit ZIP codes there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edi.x12.findings import ValidationReport
from edi.x12.validator import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"

Row = tuple[str, str | None, int | None, int | None, int | None, str]


@dataclass(frozen=True)
class Expect:
    accepted: bool
    ta1: tuple[str, str]  # TA104, TA105
    groups: list[tuple[str, list[tuple[str, str]]]]  # (AK901, [(ST02, IK501), ...])
    findings: list[Row] = field(default_factory=list)


ERRATA = ("group", None, None, None, None, "info")  # X222A2/X223A3 judged with the X222A1/X223A2 map

EXPECTED: dict[str, Expect] = {
    # ---------------------------------------------------------------- 270/271 005010X279A1
    "270_005010X279A1/subscriber-health-benefit-check.270": Expect(True, ("A", "000"), [("A", [("1234", "A")])]),
    "271_005010X279A1/subscriber-health-benefit-check.271": Expect(True, ("A", "000"), [("A", [("4321", "A")])]),
    "271_005010X279A1/subscriber-health-benefit-check-error.271": Expect(
        False, ("A", "000"), [("R", [("4321", "R")])],
        [
            ("transaction", None, None, None, None, "3"),  # SE02 4323 differs from ST02 4321 (IK502 3)
        ],
    ),
    # ---------------------------------------------------------------- 276/277 005010X212
    # (the 2100C NM109 "166666666" is not a 10-digit NPI, but NPI validity is an external code
    # source check (SNIP 4/5), not part of the X212 element syntax: nothing to report at SNIP 1-2)
    "276_005010X212/claim-level-status.276": Expect(True, ("A", "000"), [("A", [("0001", "A")])]),
    "277_005010X212/claim-level-status.277": Expect(True, ("A", "000"), [("A", [("0001", "A")])]),
    # ---------------------------------------------------------------- 277CA 005010X214
    "277_005010X214/accepted.277ca": Expect(
        False, ("A", "000"), [("R", [("000014420", "R")])],
        [
            ("segment", "STC", 17, None, None, "3"),  # 2200C Billing Provider Status STC is Required; none before HL*4
            ("element", "DTP", 22, 3, None, "8"),  # 2200D DTP03 10010101: not a valid CCYYMMDD service date (year < 1800)
        ],
    ),
    # ---------------------------------------------------------------- 835 005010X221A1
    "835_005010X221A1/managed-care.835": Expect(
        False, ("A", "000"), [("R", [("112233", "R")])],
        [
            ("element", "ST", 1, 3, None, "1"),  # ST03 Implementation Convention Reference is Required in 5010
            ("element", "BPR", 2, 16, None, "8"),  # BPR16 20002316: month 23 is not a date
            ("segment", "PER", 8, None, None, "3"),  # 1000A PER*BL Payer Technical Contact is Required
        ],
    ),
    "835_005010X221A1/medicare-part-a.835": Expect(
        False, ("A", "000"), [("R", [("1234", "R")])],
        [
            ("element", "ST", 1, 3, None, "1"),  # ST03 Implementation Convention Reference is Required in 5010
            ("segment", "PER", 9, None, None, "3"),  # 1000A PER*BL Payer Technical Contact is Required
            ("element", "TS3", 11, 9, None, "I10"),  # TS309 is Not Used in X221A1 (moved out of TS3 in 5010)
            ("element", "TS3", 11, 11, None, "I10"),  # TS311 is Not Used in X221A1
            ("element", "TS3", 21, 9, None, "I10"),  # same, second provider summary
            ("element", "TS3", 21, 11, None, "I10"),  # same, second provider summary
        ],
    ),
    # ---------------------------------------------------------------- 837P 005010X222A2 (X222A1 map)
    "837_005010X222A2/demo.example1.837": Expect(
        True, ("A", "000"), [("A", [("0021", "A")])],
        [ERRATA],  # 2010AA N403 331110000 has the nine digits the guide asks for
    ),
    "837_005010X222A2/demo.example2.837": Expect(
        False, ("A", "000"), [("R", [("0021", "R")])],
        [
            ERRATA,
            ("element", "N4", 10, 3, None, "I12"),  # 2010AA N403 33111: billing provider ZIP must be nine digits
            ("element", "N4", 28, 3, None, "I12"),  # 2310C N403 33111: service facility ZIP must be nine digits
        ],
    ),
    "837_005010X222A2/demo.autoaccident.837": Expect(
        False, ("A", "000"), [("R", [("0021", "R")])],
        [
            ERRATA,
            ("element", "N4", 9, 3, None, "I12"),  # 2010AA N403 99997: billing provider ZIP must be nine digits
            ("element", "N4", 31, 3, None, "I12"),  # 2310C N403 99622: service facility ZIP must be nine digits
        ],
    ),
    "837_005010X222A2/demo.drug.example10.1.837": Expect(
        False, ("A", "000"), [("R", [("0711", "R")])],
        [
            ERRATA,
            ("element", "N4", 9, 3, None, "I12"),  # 2010AA N403 89109: billing provider ZIP must be nine digits
        ],
    ),
    "837_005010X222A2/demo.example7.837": Expect(
        False, ("A", "000"), [("R", [("0001", "R")])],
        [
            ERRATA,
            ("element", "N4", 9, 3, None, "I12"),  # 2010AA N403 46224: billing provider ZIP must be nine digits
        ],
    ),
    "837_005010X222A2/demo.ambulance.example5.837": Expect(
        False, ("A", "000"), [("R", [("000017712", "R")])],
        [
            ERRATA,
            ("element", "CLM", 21, 5, 2, "1"),  # CLM05-2 Facility Code Qualifier (B) is Required; "41::1" omits it
        ],
    ),
    "837_005010X222A2/demo.cob.example3.A.837": Expect(
        False, ("A", "000"), [("R", [("0021", "R")])],
        [
            ERRATA,
            ("element", "N4", 9, 3, None, "I12"),  # 2010AA N403 33111: billing provider ZIP must be nine digits
            ("element", "N4", 36, 3, None, "I12"),  # 2310C N403 33111: service facility ZIP must be nine digits
            ("segment", "NM1", 42, None, None, "3"),  # 2320 needs a 2330B Other Payer Name loop (Required); none before LX
        ],
    ),
    "837_005010X222A2/demo.example6.837": Expect(
        False, ("A", "000"), [("R", [("3701", "R")])],
        [
            ERRATA,
            ("element", "N4", 9, 3, None, "I12"),  # 2010AA N403 21236: billing provider ZIP must be nine digits
            # the file uses ">" between components where ISA16 declares ":", so "11>B>1" is one value:
            ("element", "CLM", 19, 5, 1, "5"),  # CLM05-1 Place of Service is at most 2 characters
            ("element", "CLM", 19, 5, 1, "7"),  # and "11>B>1" is not a place of service code
            ("element", "CLM", 19, 5, 2, "1"),  # CLM05-2 Facility Code Qualifier is Required
            ("element", "CLM", 19, 5, 3, "1"),  # CLM05-3 Claim Frequency Type Code is Required
            ("segment", "HI", 24, None, None, "1"),  # HI01-1 "BK>7215" is no diagnosis qualifier: no HI fits here
            ("segment", "HI", 25, None, None, "3"),  # so the Required HI (Health Care Diagnosis Code) is missing
            ("segment", "SV1", 26, None, None, "1"),  # SV101-1 "HC>98940" is no product qualifier: no SV1 fits
            ("segment", "SV1", 27, None, None, "3"),  # so the Required 2400 SV1 (Professional Service) is missing
        ],
    ),
    # ---------------------------------------------------------------- 837I 005010X223A3 (X223A2 map)
    "837_005010X223A3/institutional-claim.837i": Expect(
        False, ("A", "000"), [("R", [("987654", "R")])],
        [
            ERRATA,
            ("element", "N4", 10, 3, None, "I12"),  # 2010AA N403 17111: billing provider ZIP must be nine digits
            ("element", "CLM", 20, 6, None, "I10"),  # CLM06 (provider signature) is Not Used in the 837I
            ("element", "DTP", 21, 2, None, "7"),  # DTP*434 Statement Dates must use RD8, not D8
        ],
    ),
    "837_005010X223A3/two-claims-single-provider.837i": Expect(
        False, ("A", "000"), [("R", [("987654", "R")])],
        [
            ERRATA,
            ("element", "N4", 10, 3, None, "I12"),  # 2010AA N403 17111: billing provider ZIP must be nine digits
            ("element", "CLM", 19, 6, None, "I10"),  # CLM06 is Not Used in the 837I (first claim)
            ("element", "CLM", 39, 6, None, "I10"),  # CLM06 is Not Used in the 837I (second claim)
        ],
    ),
    # ---------------------------------------------------------------- 999 005010X231A1
    "999_005010X231A1/accepted.999": Expect(
        False, ("R", "001"), [("R", [("0001", "A")])],
        [
            ("interchange", None, None, None, None, "001"),  # IEA02 000000001 differs from ISA13 000000286 (TA1 001)
            ("group", None, None, 5, None, "1"),  # GS05 102497: 97 seconds is not a time (AK9 R; no finer AK905 code)
        ],
    ),
    "999_005010X231A1/rejected.999": Expect(True, ("A", "000"), [("A", [("95832987", "A")])]),
}


def rows(report: ValidationReport) -> Counter[Row]:
    return Counter(
        (f.level, f.segment_id, f.segment_position, f.element_position, f.component_position, f.code)
        for f in report.all_findings()
    )


def test_every_sample_has_an_expectation() -> None:
    samples = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.glob("*/*")
        if p.is_file() and not p.name.startswith("LICENSE")
    }
    assert samples == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_verdict_and_findings(name: str) -> None:
    want = EXPECTED[name]
    report = validate(FIXTURES / name)
    assert rows(report) == Counter(want.findings)
    assert len(report.interchanges) == 1
    isa = report.interchanges[0]
    assert (isa.ta1_code, isa.ta1_note) == want.ta1
    assert [(g.ack_code, [(t.control_number, t.ack_code) for t in g.transactions]) for g in isa.groups] == want.groups
    assert report.accepted is want.accepted
    assert report.findings == []  # nothing wrong with the files as files
    assert report.segments == len(
        [s for s in (FIXTURES / name).read_text().split("~") if s.strip()]
    )


@pytest.mark.parametrize(
    ("folder", "requested", "used"),
    [("837_005010X222A2", "005010X222A2", "005010X222A1"), ("837_005010X223A3", "005010X223A3", "005010X223A2")],
)
def test_errata_ids_are_validated_with_the_base_guide_map_and_say_so(folder: str, requested: str, used: str) -> None:
    for path in sorted((FIXTURES / folder).iterdir()):
        report = validate(path)
        (group,) = report.interchanges[0].groups
        notes = [f for f in group.findings if f.code == "info"]
        assert len(notes) == 1, path.name
        (note,) = notes
        assert note.severity == "info" and note.level == "group"
        assert requested in note.message and used in note.message
        # information only: a group whose transaction sets have no error is still plain "A", not "E"
        if not any(t.findings for t in group.transactions):
            assert group.ack_code == "A" and report.accepted
        # the transaction keeps the identifier it was sent with
        assert [t.implementation_reference for t in group.transactions] == [requested]
        assert group.version == requested


def test_base_guide_ids_carry_no_substitution_note() -> None:
    text = (FIXTURES / "837_005010X222A2" / "demo.example1.837").read_text().replace("005010X222A2", "005010X222A1")
    report = validate(text.encode())
    assert rows(report) == Counter()
    assert report.accepted
