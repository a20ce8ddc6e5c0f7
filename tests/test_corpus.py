"""Tests for the agreement corpus (tests/agreement/corpus.py) and the pyx12 oracle."""

from __future__ import annotations

import os
import re
import sys

import pytest

# `tests/` is not a package: make `tests.agreement` importable under plain
# `pytest` too (`python -m pytest` already has the repo root on sys.path).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.agreement import corpus  # noqa: E402
from tests.agreement.corpus import (  # noqa: E402
    BASES,
    FAMILIES,
    KINDS,
    REPAIRS,
    Doc,
    base_bytes,
    original_bytes,
    samples,
    variants,
)
from tests.agreement.pyx12_oracle import (  # noqa: E402
    GroupVerdict,
    Pyx12Failure,
    TxVerdict,
    Verdict,
    parse_999,
    pyx12_verdict,
)

VARIANTS = variants()
BY_NAME = {v.name: v for v in VARIANTS}


def one(cn: str, ik5: str, *errors: tuple, ak9: str | None = None, ta1: str | None = None) -> Verdict:
    """A verdict for an interchange with one group holding one transaction set."""
    return Verdict(ta1, (GroupVerdict(ak9 or ik5, (TxVerdict(cn, ik5, tuple(sorted(errors))),)),))


# ---------------------------------------------------------------- the corpus


def test_bases_exist_and_cover_every_kind():
    assert set(KINDS) == {"837P", "837I", "835", "277CA", "270", "271"}
    assert {name.split("/", 1)[0] for name in BASES} == set(KINDS)
    for name, path in BASES.items():
        assert path.is_file(), name
        assert original_bytes(name).startswith(b"ISA")


def test_at_least_100_variants():
    assert len(VARIANTS) >= 100


@pytest.mark.parametrize("kind", KINDS)
def test_at_least_40_variants_per_kind(kind):
    assert sum(v.transaction == kind for v in VARIANTS) >= 40


def test_eligibility_kinds_use_every_family_but_lx():
    """270/271 have an HL hierarchy but no 2400 LX lines: every other family applies."""
    for kind in ("270", "271"):
        assert {f for f, kinds in FAMILIES.items() if kind not in kinds} == {"lx-bad-count"}, kind
        assert {v.family for v in VARIANTS if v.transaction == kind} == set(FAMILIES) - {"lx-bad-count"}, kind


def test_variant_names_are_unique_and_descriptive():
    names = [v.name for v in VARIANTS]
    assert len(names) == len(set(names))
    for v in VARIANTS:
        assert v.name.startswith(f"{v.base}/{v.family}-"), v.name
        assert re.fullmatch(r"[A-Za-z0-9./_-]+", v.name), v.name
        assert v.base in BASES
        assert v.transaction == v.base.split("/", 1)[0]
        assert v.family in FAMILIES, v.name


def test_sample_names_do_not_collide_with_variants():
    assert not {s.name for s in samples()} & set(BY_NAME)


def test_every_variant_differs_from_its_base():
    for v in VARIANTS:
        assert v.data != base_bytes(v.base), v.name
        assert v.data != original_bytes(v.base), v.name


def test_every_variant_is_an_interchange_on_its_base_delimiters():
    for v in VARIANTS:
        base = Doc.parse(base_bytes(v.base))
        doc = Doc.parse(v.data)
        assert (doc.sep, doc.comp, doc.term) == (base.sep, base.comp, base.term), v.name
        assert len(v.data.split(base.term.encode(), 1)[0]) + 1 == 106, v.name  # ISA stays fixed-width


def test_variants_are_deterministic():
    again = corpus._variants.__wrapped__()
    assert [(v.name, v.data) for v in again] == [(v.name, v.data) for v in VARIANTS]


def test_each_family_covers_every_applicable_kind():
    seen: dict[str, set[str]] = {f: set() for f in FAMILIES}
    for v in VARIANTS:
        seen[v.family].add(v.transaction)
    missing = {f: sorted(kinds - seen[f]) for f, kinds in FAMILIES.items() if kinds - seen[f]}
    assert not missing, f"families missing kinds: {missing}"
    extra = {f: sorted(seen[f] - kinds) for f, kinds in FAMILIES.items() if seen[f] - kinds}
    assert not extra, f"families used where not applicable: {extra}"


def test_counts_are_fixed_unless_the_mutation_is_about_them():
    for v in VARIANTS:
        if v.family in ("se01-count", "ge01-count", "iea01-count", "missing-trailer"):
            continue
        segs = [s for s in Doc.parse(v.data).segs if s != [""]]
        st = [i for i, s in enumerate(segs) if s[0] == "ST"]
        se = [i for i, s in enumerate(segs) if s[0] == "SE"]
        for i, j in zip(st, se, strict=True):
            assert segs[j][1] == str(j - i + 1), v.name
        ge = next(s for s in segs if s[0] == "GE")
        assert ge[1] == str(len(st)), v.name
        iea = next(s for s in segs if s[0] == "IEA")
        assert iea[1] == "1", v.name


def test_271_repairs_touch_only_the_defect():
    def diff(base):
        old, new = Doc.parse(original_bytes(base)).segs, Doc.parse(base_bytes(base)).segs
        assert len(old) == len(new), base
        return [(a, b) for a, b in zip(old, new, strict=True) if a != b]

    eb = diff("271/subscriber-health-benefit-check")
    assert len(eb) == 3
    for old, new in eb:
        assert old[0] == new[0] == "EB" and old[3] == "1^33^35^47^86^88^98^AL^MH^UC" and new[3] == "1"
        assert old[:3] + old[4:] == new[:3] + new[4:]
    assert diff("271/subscriber-health-benefit-check-error") == [(["SE", "8", "4323"], ["SE", "8", "4321"])]


def test_mutation_examples():
    ex1 = Doc.parse(base_bytes("837P/demo.example1"))
    drop = Doc.parse(BY_NAME["837P/demo.example1/drop-CLM"].data)
    assert [s[0] for s in ex1.segs].count("CLM") == 1
    assert [s[0] for s in drop.segs].count("CLM") == 0
    assert len(drop.segs) == len(ex1.segs) - 1
    assert next(s for s in drop.segs if s[0] == "SE")[1] == "39"
    trailing = BY_NAME["837P/demo.example1/trailing-separator-NM1-85"].data
    assert b"NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953*~" in trailing
    assert b"~\n~\n" in BY_NAME["837P/demo.example1/empty-segment-tilde-tilde"].data
    se01 = Doc.parse(BY_NAME["835/managed-care/se01-count-plus1"].data)
    st, se = (next(i for i, s in enumerate(se01.segs) if s[0] == t) for t in ("ST", "SE"))
    assert se01.segs[se][1] == str(se - st + 2)


# ---------------------------------------------------------------- the oracle


def test_parse_999_reads_ik3_ik4_and_ta1():
    ack = (
        "ISA*00*          *00*          *30*12345          *30*000000005      *261123*1658*^*00501*611231658*0*T*:~\n"
        "GS*FA*54321*000000005*20261123*165822*123486540*X*005010X231~\n"
        "ST*999*0001*005010X231~\nAK1*HC*1*005010X222A1~\nAK2*837*000017712*005010X222A1~\n"
        "IK3*CLM*21**8~\nIK4*5:2*1332*1~\nIK3*HI*24**1~\nIK5*R*5~\nAK9*R*1*1*0~\nSE*9*0001~\n"
        "GE*1*123486540~\nTA1*000000907*131031*1147*R*021~\nIEA*1*611231658~\n"
    )
    assert parse_999(ack) == one(
        "000017712",
        "R",
        ("IK3", "CLM", 21, "8"),
        ("IK4", "CLM", 21, "5:2", "1332", "1"),
        ("IK3", "HI", 24, "1"),
        ta1="021",
    )


def test_oracle_accepts_unmodified_demo_example1():
    assert pyx12_verdict(original_bytes("837P/demo.example1")) == one("0021", "A")


def test_oracle_reports_835_without_st03_as_failure():
    data = original_bytes("835/managed-care")
    assert b"ST*835*112233~" in data  # the public sample has no ST03
    verdict = pyx12_verdict(data)
    assert isinstance(verdict, Pyx12Failure)
    assert "Cannot create AK2" in verdict.reason


def test_oracle_reports_exceptions_as_failure():
    verdict = pyx12_verdict(BY_NAME["837P/demo.example1/bad-component-CLM05-4-extra"].data)
    assert isinstance(verdict, Pyx12Failure)
    assert "IndexError" in verdict.reason


def test_oracle_does_not_split_eb03_repetitions():
    # 005010X279A1 EB03 repeats (ISA11 "^"); pyx12 checks "1^33^...^UC" as one ID.
    errors = []
    for pos in (19, 20, 21):
        errors += [
            ("IK3", "EB", pos, "8"),
            ("IK4", "EB", pos, "3", "1365", "5"),
            ("IK4", "EB", pos, "3", "1365", "7"),
        ]
    assert pyx12_verdict(original_bytes("271/subscriber-health-benefit-check")) == one("4321", "R", *errors)


@pytest.mark.parametrize("base", sorted(REPAIRS))
def test_repaired_bases_are_clean_for_pyx12(base):
    """Each repaired base is accepted, so a variant carries only its own mutation."""
    verdict = pyx12_verdict(base_bytes(base))
    assert isinstance(verdict, Verdict), verdict
    assert [g.ak9 for g in verdict.groups] == ["A"]
    assert [(t.ik5, t.errors) for t in verdict.groups[0].transactions] == [("A", ())]


# What pyx12 says on representative variants (each checked against the
# implementation guides and the 999 TR3, X231: IK304 3 required segment
# missing, 4 loop over max, 5 segment over max use, 8 segment has element
# errors, 1 unrecognized segment; IK403 1 required element missing,
# 4 too short, 5 too long, 6 invalid character, 7 invalid code value,
# 8 invalid date, 9 invalid time; TA105 001 control numbers do not match).
LITERAL = {
    "837P/demo.example1/drop-N4-2010AA": one("0021", "R", ("IK3", "N4", 10, "3")),
    "837P/demo.example1/too-long-CLM01": one(
        "0021", "R", ("IK3", "CLM", 25, "8"), ("IK4", "CLM", 25, "1", "1028", "5")
    ),
    "837P/demo.example1/too-short-N402-2010AA": one(
        "0021", "R", ("IK3", "N4", 10, "8"), ("IK4", "N4", 10, "2", "156", "4")
    ),
    "837P/demo.example1/bad-code-BHT02": one(
        "0021", "R", ("IK3", "BHT", 2, "8"), ("IK4", "BHT", 2, "2", "353", "7")
    ),
    "837P/demo.example1/non-numeric-CLM02": one(
        "0021", "R", ("IK3", "CLM", 25, "8"), ("IK4", "CLM", 25, "2", "782", "6")
    ),
    "837P/demo.example1/bad-component-CLM05-2": one(
        "0021", "R", ("IK3", "CLM", 25, "8"), ("IK4", "CLM", 25, "5:2", "1332", "7")
    ),
    "837P/demo.example1/empty-required-CLM01": one(
        "0021", "R", ("IK3", "CLM", 25, "8"), ("IK4", "CLM", 25, "1", "1028", "1")
    ),
    "837P/demo.example1/repeat-segment-PAT": one("0021", "R", ("IK3", "PAT", 21, "5")),
    "837P/demo.example1/repeat-loop-2010AA": one("0021", "R", ("IK3", "NM1", 12, "4")),
    "837P/demo.example1/unknown-segment-after-first": one("0021", "R", ("IK3", "XYZ", 3, "1")),
    "837P/demo.example1/bad-date-DTP-20230230": one(
        "0021", "R", ("IK3", "DTP", 30, "8"), ("IK4", "DTP", 30, "3", "1251", "8")
    ),
    "837P/demo.example1/bad-time-BHT05-hour25": one(
        "0021", "R", ("IK3", "BHT", 2, "8"), ("IK4", "BHT", 2, "5", "337", "9")
    ),
    "837P/demo.example1/se01-count-plus1": one("0021", "R"),  # IK502 4: segment count wrong
    "837P/demo.example1/ge01-count-plus1": one("0021", "A", ak9="R"),  # AK905 5
    "837P/demo.example1/iea02-mismatch-IEA02": one("0021", "A", ta1="001"),
    "837I/institutional-claim/drop-CL1": one("987654", "R", ("IK3", "CL1", 22, "3")),
    "837I/institutional-claim/bad-component-SV202-1": one(
        "987654", "R", ("IK3", "SV2", 37, "8"), ("IK4", "SV2", 37, "2:1", "235", "7")
    ),
    "835/managed-care/drop-TRN": one("112233", "R", ("IK3", "TRN", 3, "3")),
    "835/managed-care/bad-code-CLP02": one(
        "112233", "R", ("IK3", "CLP", 12, "8"), ("IK4", "CLP", 12, "2", "1029", "7")
    ),
    "277CA/accepted/drop-STC-2200B": one("000014420", "R", ("IK3", "STC", 11, "3")),
    "277CA/accepted/non-numeric-QTY02": one(
        "000014420", "R", ("IK3", "QTY", 12, "8"), ("IK4", "QTY", 12, "2", "380", "6")
    ),
    # 270/271 (005010X279A1) with the project's maps.
    "270/subscriber-health-benefit-check/drop-NM1-1P": one("1234", "R", ("IK3", "NM1", 6, "3")),
    "270/subscriber-health-benefit-check/bad-code-EQ01-Q9": one(
        "1234", "R", ("IK3", "EQ", 12, "8"), ("IK4", "EQ", 12, "1", "1365", "7")
    ),
    "270/subscriber-health-benefit-check/repeat-segment-TRN-x3": one("1234", "R", ("IK3", "TRN", 10, "5")),
    "270/subscriber-health-benefit-check/bad-date-DTP03-RD8": one(
        "1234", "R", ("IK3", "DTP", 11, "8"), ("IK4", "DTP", 11, "3", "1251", "8")
    ),
    "271/subscriber-health-benefit-check/bad-code-EB01": one("4321", "R", ("IK3", "EB", 15, "1")),
    "271/subscriber-health-benefit-check/repeat-segment-DTP-x10": one("4321", "R", ("IK3", "DTP", 22, "5")),
    "271/subscriber-health-benefit-check/bad-component-EB13-1": one(
        "4321", "R", ("IK3", "EB", 14, "8"), ("IK4", "EB", 14, "13:1", "235", "7")
    ),
    "271/subscriber-health-benefit-check-error/drop-NM1-1P": one(
        "4321", "R", ("IK3", "AAA", 6, "1"), ("IK3", "NM1", 6, "3")
    ),
}


@pytest.mark.parametrize("name", sorted(LITERAL))
def test_pyx12_verdict_on_representative_variants(name):
    assert pyx12_verdict(BY_NAME[name].data) == LITERAL[name]
