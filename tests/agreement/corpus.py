"""Deterministic corpus of broken HIPAA 5010 files for the pyx12 agreement test.

Every variant is one public sample (``BASES``) with exactly one small,
segment-level mutation applied.  The file is parsed on its own delimiters
(element separator = byte 3 of the ISA, component separator = ISA16, segment
terminator = the byte after ISA16, plus whatever end-of-line followed it),
mutated, and serialized back with the same delimiters.  SE01 / GE01 / IEA01
are recomputed after the mutation unless the mutation is precisely about
those counts, so that each variant carries one error, not a cascade.

Some samples are not clean for pyx12 (the 835s have no ST03, which crashes
pyx12's 999 writer, no 1000A PER*BL, and a BPR16 of 20002316 or TS309/TS311
values that 5010 no longer uses; the 837Is have a 5-digit billing-provider
ZIP, a CLM06 and a D8 statement date; the 277CA misses the 2200C STC and has
a service date in the year 1001; the error 271's SE02 differs from its ST02;
the 271's EB03 carries ISA11 repetitions ``1^33^35...``, valid in 5010 but
not split by pyx12, which then reports EB03 too long and not a code).  Variants are built from a *prepared* base
(``base_bytes``) on which those defects are repaired (``REPAIRS``), so that
a variant differs from a clean file by exactly its mutation.  The untouched
samples and the repaired bases are both listed by ``samples()``.

Variant names are stable: ``<kind>/<sample>/<family>-<what>``, e.g.
``837P/demo.example1/drop-CLM``.  Never rename a variant lightly: the
names are keys of ``expected_differences.KNOWN_PYX12_DIFFERENCES``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x12"

_P = FIXTURES / "837_005010X222A2"
_I = FIXTURES / "837_005010X223A3"
_R = FIXTURES / "835_005010X221A1"
_C = FIXTURES / "277_005010X214"
_E = FIXTURES / "270_005010X279A1"
_B = FIXTURES / "271_005010X279A1"

BASES: dict[str, Path] = {
    "837P/demo.example1": _P / "demo.example1.837",
    "837P/demo.example2": _P / "demo.example2.837",
    "837P/demo.autoaccident": _P / "demo.autoaccident.837",
    "837P/demo.drug.example10.1": _P / "demo.drug.example10.1.837",
    "837P/demo.example7": _P / "demo.example7.837",
    "837P/demo.ambulance.example5": _P / "demo.ambulance.example5.837",
    "837P/demo.cob.example3.A": _P / "demo.cob.example3.A.837",
    "837P/demo.example6": _P / "demo.example6.837",
    "837I/institutional-claim": _I / "institutional-claim.837i",
    "837I/two-claims-single-provider": _I / "two-claims-single-provider.837i",
    "835/managed-care": _R / "managed-care.835",
    "835/medicare-part-a": _R / "medicare-part-a.835",
    "277CA/accepted": _C / "accepted.277ca",
    "270/subscriber-health-benefit-check": _E / "subscriber-health-benefit-check.270",
    "271/subscriber-health-benefit-check": _B / "subscriber-health-benefit-check.271",
    "271/subscriber-health-benefit-check-error": _B / "subscriber-health-benefit-check-error.271",
}

KINDS = ("837P", "837I", "835", "277CA", "270", "271")

# Mutation families and the transaction kinds where they make sense.
_ALL = frozenset(KINDS)
_HL = frozenset({"837P", "837I", "277CA", "270", "271"})  # the 835 has no HL hierarchy
_837 = frozenset({"837P", "837I"})  # LX01 sequence check (2400 service lines)
FAMILIES: dict[str, frozenset[str]] = {
    "drop": _ALL,  # a required segment removed
    "too-long": _ALL,  # an element above its maximum length
    "too-short": _ALL,  # an element below its minimum length
    "bad-code": _ALL,  # an ID element with a value outside its code list
    "non-numeric": _ALL,  # letters in an N/R element
    "se01-count": _ALL,  # SE01 does not count the segments
    "se02-mismatch": _ALL,  # SE02 differs from ST02
    "ge01-count": _ALL,  # GE01 does not count the transaction sets
    "iea01-count": _ALL,  # IEA01 does not count the groups
    "ge02-mismatch": _ALL,  # GE02 differs from GS06
    "iea02-mismatch": _ALL,  # IEA02 differs from ISA13
    "out-of-order": _ALL,  # a segment moved before/after a sibling
    "repeat-segment": _ALL,  # a segment repeated beyond its max use
    "repeat-loop": _ALL,  # a loop repeated beyond its max repeat
    "bad-date": _ALL,  # impossible or malformed CCYYMMDD
    "bad-time": _ALL,  # impossible or malformed HHMM[SS]
    "isa-blank": _ALL,  # a fixed-width ISA field blanked with spaces
    "isa-bad-code": _ALL,  # an ISA ID field with an invalid value
    "unknown-segment": _ALL,  # XYZ*1 inserted
    "empty-segment": _ALL,  # a segment with no content (~~) or an id with no elements
    "trailing-separator": _ALL,  # NM1*...*~ (empty trailing element / component)
    "empty-required": _ALL,  # a required element left empty
    "not-used-filled": _ALL,  # a Not Used element given a value
    "bad-component": _ALL,  # a composite with a bad component
    "hl-bad-parent": _HL,  # HL02 pointing at a wrong / missing parent
    "hl-bad-count": _HL,  # HL01 out of sequence
    "lx-bad-count": _837,  # LX01 out of sequence
    "duplicate-st02": _ALL,  # the transaction set repeated with the same ST02
    "missing-trailer": _ALL,  # SE / GE / IEA removed
    "bad-char": _ALL,  # a control character inside an element
}


@dataclass(frozen=True)
class Variant:
    name: str
    base: str
    transaction: str  # "837P" | "837I" | "835" | "277CA" | "270" | "271"
    data: bytes
    mutation: str  # "<family>: <description>"

    @property
    def family(self) -> str:
        return self.mutation.split(":", 1)[0]


# --------------------------------------------------------------------------
# A tiny X12 tokenizer (good enough for the samples; not the product reader)
# --------------------------------------------------------------------------


@dataclass
class Doc:
    segs: list[list[str]]
    sep: str
    comp: str
    term: str
    eol: str

    @classmethod
    def parse(cls, data: bytes) -> Doc:
        text = data.decode("latin-1")
        if not text.startswith("ISA") or len(text) < 106:
            raise ValueError("not an X12 interchange")
        sep, comp, term = text[3], text[104], text[105]
        rest = text[106:]
        eol = rest[: len(rest) - len(rest.lstrip("\r\n"))]
        segs = []
        for raw in text.split(term):
            raw = raw.strip("\r\n")
            if raw:
                segs.append(raw.split(sep))
        return cls(segs, sep, comp, term, eol)

    def serialize(self) -> bytes:
        out = "".join(self.sep.join(s) + self.term + self.eol for s in self.segs)
        return out.encode("latin-1")

    def seg(self, text: str) -> list[str]:
        """A segment written with '*' and ':' in this document's delimiters."""
        return text.replace(":", self.comp).split("*")


@dataclass(frozen=True)
class Sel:
    """The nth segment with this id (and element 1 == el1), searched after `after`."""

    seg_id: str
    el1: str | None = None
    nth: int = 0
    after: Sel | None = None

    def find(self, doc: Doc) -> int:
        start = self.after.find(doc) + 1 if self.after else 0
        hits = [
            i
            for i in range(start, len(doc.segs))
            if doc.segs[i][0] == self.seg_id
            and (self.el1 is None or (len(doc.segs[i]) > 1 and doc.segs[i][1] == self.el1))
        ]
        if self.nth >= len(hits):
            raise LookupError(f"no segment matches {self}")
        return hits[self.nth]


def S(seg_id: str, el1: str | None = None, nth: int = 0, after: Sel | None = None) -> Sel:
    return Sel(seg_id, el1, nth, after)


Op = Callable[[Doc], None]


def drop(sel: Sel) -> Op:
    def op(doc: Doc) -> None:
        del doc.segs[sel.find(doc)]

    return op


def set_el(sel: Sel, idx: int, value: str, comp: int | None = None, rstrip: bool = True) -> Op:
    """Set element `idx` (1-based; component `comp` 1-based) of the selected segment."""

    def op(doc: Doc) -> None:
        seg = doc.segs[sel.find(doc)]
        while len(seg) <= idx:
            seg.append("")
        if comp is None:
            seg[idx] = value.replace(":", doc.comp)
        else:
            parts = seg[idx].split(doc.comp)
            while len(parts) < comp:
                parts.append("")
            parts[comp - 1] = value
            while len(parts) > 1 and parts[-1] == "":
                parts.pop()
            seg[idx] = doc.comp.join(parts)
        if rstrip:
            while len(seg) > 1 and seg[-1] == "":
                seg.pop()

    return op


def append_el(sel: Sel, value: str) -> Op:
    def op(doc: Doc) -> None:
        doc.segs[sel.find(doc)].append(value)

    return op


def id_only(sel: Sel) -> Op:
    """Remove every element of the selected segment, leaving its id alone."""

    def op(doc: Doc) -> None:
        i = sel.find(doc)
        doc.segs[i] = doc.segs[i][:1]

    return op


def insert(sel: Sel, text: str, before: bool = False) -> Op:
    def op(doc: Doc) -> None:
        i = sel.find(doc)
        doc.segs.insert(i if before else i + 1, doc.seg(text) if text else [""])

    return op


def move(sel: Sel, to: Sel, before: bool = True) -> Op:
    """Move the selected segment just before (or after) the `to` segment."""

    def op(doc: Doc) -> None:
        seg = doc.segs.pop(sel.find(doc))
        j = to.find(doc)
        doc.segs.insert(j if before else j + 1, seg)

    return op


def dup(sel: Sel, times: int = 1) -> Op:
    def op(doc: Doc) -> None:
        i = sel.find(doc)
        for _ in range(times):
            doc.segs.insert(i + 1, list(doc.segs[i]))

    return op


def dup_range(first: Sel, last: Sel, times: int = 1) -> Op:
    """Repeat the segments first..last (inclusive) right after `last`."""

    def op(doc: Doc) -> None:
        i, j = first.find(doc), last.find(doc)
        block = [list(s) for s in doc.segs[i : j + 1]]
        for _ in range(times):
            doc.segs[j + 1 : j + 1] = [list(s) for s in block]

    return op


def set_isa(idx: int, value: str) -> Op:
    """Set a fixed-width ISA field, padding with spaces to its original width."""

    def op(doc: Doc) -> None:
        isa = doc.segs[0]
        width = len(isa[idx])
        isa[idx] = value.ljust(width)[:width]

    return op


def set_st02(value: str) -> Op:
    """Change ST02 and SE02 together (so only the ST02 value itself is wrong)."""

    def op(doc: Doc) -> None:
        doc.segs[S("ST").find(doc)][2] = value
        doc.segs[S("SE").find(doc)][2] = value

    return op


def bump(sel: Sel, idx: int, delta: int) -> Op:
    def op(doc: Doc) -> None:
        seg = doc.segs[sel.find(doc)]
        seg[idx] = str(int(seg[idx]) + delta)

    return op


def duplicate_transaction(doc: Doc) -> None:
    i, j = S("ST").find(doc), S("SE").find(doc)
    doc.segs[j + 1 : j + 1] = [list(s) for s in doc.segs[i : j + 1]]


def add_service_lines(count: int) -> Op:
    """Repeat the last 2400 loop (LX..next LX/SE) until there are `count` LX."""

    def op(doc: Doc) -> None:
        lx = [i for i, s in enumerate(doc.segs) if s[0] == "LX"]
        se = S("SE").find(doc)
        block = doc.segs[lx[-1] : se]
        n = len(lx)
        for k in range(n + 1, count + 1):
            new = [list(s) for s in block]
            new[0][1] = str(k)
            doc.segs[se:se] = new
            se += len(new)

    return op


def fix_counts(doc: Doc) -> None:
    """Recompute SE01, GE01 and IEA01 from the segments actually present.

    An empty segment (``~~``) is not a segment and is not counted.
    """
    st_at = None
    st_count = gs_count = 0
    for i, seg in enumerate(s for s in doc.segs if s != [""]):
        sid = seg[0]
        if sid == "ISA":
            gs_count = 0
        elif sid == "GS":
            gs_count += 1
            st_count = 0
        elif sid == "ST":
            st_count += 1
            st_at = i
        elif sid == "SE" and st_at is not None and len(seg) > 1:
            seg[1] = str(i - st_at + 1)
            st_at = None
        elif sid == "GE" and len(seg) > 1:
            seg[1] = str(st_count)
        elif sid == "IEA" and len(seg) > 1:
            seg[1] = str(gs_count)


def _x(n: int, stem: str = "X") -> str:
    """A deterministic string of exactly n characters."""
    return (stem * n)[:n]


# --------------------------------------------------------------------------
# Repairs applied to the samples before mutating them
# --------------------------------------------------------------------------

_NM85 = S("NM1", "85")
_NMIL = S("NM1", "IL")


def _add_st03(doc: Doc) -> None:
    st = doc.segs[S("ST").find(doc)]
    gs = doc.segs[S("GS").find(doc)]
    if len(st) < 4:
        st.append(gs[8])


_PER_BL = "PER*BL*TECHNICAL SUPPORT*TE*8005551212"


def _first_repetition(seg_id: str, idx: int) -> Op:
    """Keep only the first repetition (ISA11 separator) of element `idx` in every `seg_id`."""

    def op(doc: Doc) -> None:
        rep = doc.segs[0][11]
        for seg in doc.segs:
            if seg[0] == seg_id and len(seg) > idx and rep in seg[idx]:
                seg[idx] = seg[idx].split(rep, 1)[0]

    return op


REPAIRS: dict[str, tuple[tuple[str, Op], ...]] = {
    "835/managed-care": (
        ("ST03 added (= GS08)", _add_st03),
        ("1000A PER*BL payer technical contact added", insert(S("N1", "PE"), _PER_BL, before=True)),
        ("BPR16 20002316 -> 20020316", set_el(S("BPR"), 16, "20020316")),
    ),
    "835/medicare-part-a": (
        ("ST03 added (= GS08)", _add_st03),
        ("1000A PER*BL payer technical contact added", insert(S("N1", "PE"), _PER_BL, before=True)),
        ("TS309/TS311 (Not Used) emptied", set_el(S("TS3"), 9, "")),
        ("TS309/TS311 (Not Used) emptied", set_el(S("TS3"), 11, "")),
        ("TS309/TS311 (Not Used) emptied", set_el(S("TS3", nth=1), 9, "")),
        ("TS309/TS311 (Not Used) emptied", set_el(S("TS3", nth=1), 11, "")),
    ),
    "837I/institutional-claim": (
        ("2010AA N403 ZIP+4 (9 digits)", set_el(S("N4", after=_NM85), 3, "171110000")),
        ("CLM06 (Not Used in 837I) emptied", set_el(S("CLM"), 6, "")),
        ("DTP*434 statement dates as RD8", set_el(S("DTP", "434"), 2, "RD8")),
        ("DTP*434 statement dates as RD8", set_el(S("DTP", "434"), 3, "19960911-19960911")),
    ),
    "837I/two-claims-single-provider": (
        ("2010AA N403 ZIP+4 (9 digits)", set_el(S("N4", after=_NM85), 3, "171110000")),
        ("CLM06 (Not Used in 837I) emptied", set_el(S("CLM"), 6, "")),
        ("CLM06 (Not Used in 837I) emptied", set_el(S("CLM", nth=1), 6, "")),
    ),
    "277CA/accepted": (
        ("2200C STC added", insert(S("TRN", "1", nth=1), "STC*A1:20**WQ*125")),
        ("2200D DTP*472 date 10010101 -> 20110301", set_el(S("DTP", "472"), 3, "20110301")),
    ),
    "271/subscriber-health-benefit-check": (
        (
            "EB03 repetitions 1^33^...^UC reduced to 1 (pyx12 does not split ISA11 repetitions)",
            _first_repetition("EB", 3),
        ),
    ),
    "271/subscriber-health-benefit-check-error": (
        ("SE02 4323 -> 4321 (= ST02)", set_el(S("SE"), 2, "4321")),
    ),
}


def original_bytes(base: str) -> bytes:
    return BASES[base].read_bytes()


@functools.cache
def base_bytes(base: str) -> bytes:
    """The sample with its REPAIRS applied: what the variants of `base` mutate."""
    data = original_bytes(base)
    repairs = REPAIRS.get(base, ())
    if not repairs:
        return data
    doc = Doc.parse(data)
    for _, op in repairs:
        op(doc)
    fix_counts(doc)
    return doc.serialize()


# --------------------------------------------------------------------------
# Mutation specs
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mut:
    slug: str
    family: str
    desc: str
    ops: tuple[Op, ...]
    fix: bool = True  # recompute SE01/GE01/IEA01 afterwards


def M(family: str, what: str, desc: str, *ops: Op, fix: bool = True) -> Mut:
    assert family in FAMILIES, family
    return Mut(f"{family}-{what}", family, desc, ops, fix)


# fmt: off
# (the spec tables below read best one mutation per line)


def _envelope(first_body: Sel, later_body: Sel) -> list[Mut]:
    """Mutations of the envelope and generic structure, valid for every kind.

    first_body: a segment right after ST (BHT / BPR); later_body: a segment
    deep inside the body (for unknown / empty segments).
    """
    return [
        M("se01-count", "plus1", "SE01 one too high", bump(S("SE"), 1, +1), fix=False),
        M("se01-count", "minus1", "SE01 one too low", bump(S("SE"), 1, -1), fix=False),
        M("se01-count", "alpha", "SE01 not a number", set_el(S("SE"), 1, "X1"), fix=False),
        M("se02-mismatch", "SE02", "SE02 differs from ST02", set_el(S("SE"), 2, "99999")),
        M("ge01-count", "plus1", "GE01 one too high", bump(S("GE"), 1, +1), fix=False),
        M("ge01-count", "zero", "GE01 zero", set_el(S("GE"), 1, "0"), fix=False),
        M("iea01-count", "plus1", "IEA01 one too high", bump(S("IEA"), 1, +1), fix=False),
        M("ge02-mismatch", "GE02", "GE02 differs from GS06", set_el(S("GE"), 2, "99")),
        M("iea02-mismatch", "IEA02", "IEA02 differs from ISA13", set_el(S("IEA"), 2, "000000999")),
        M("isa-blank", "ISA06", "ISA06 sender id blank", set_isa(6, "")),
        M("isa-blank", "ISA08", "ISA08 receiver id blank", set_isa(8, "")),
        M("isa-blank", "ISA13", "ISA13 control number blank (IEA02 too)", set_isa(13, ""), set_el(S("IEA"), 2, " " * 9)),
        M("isa-bad-code", "ISA15", "ISA15 usage indicator X (P/T only)", set_isa(15, "X")),
        M("isa-bad-code", "ISA14", "ISA14 acknowledgment requested 5 (0/1 only)", set_isa(14, "5")),
        M("bad-date", "ISA09", "ISA09 interchange date 131332", set_isa(9, "131332")),
        M("bad-time", "ISA10", "ISA10 interchange time 2500", set_isa(10, "2500")),
        M("bad-date", "GS04", "GS04 group date in month 13", set_el(S("GS"), 4, "20131301")),
        M("bad-time", "GS05", "GS05 group time 2599", set_el(S("GS"), 5, "2599")),
        M("unknown-segment", "after-first", "XYZ*1 after the first body segment", insert(first_body, "XYZ*1")),
        M("unknown-segment", "deep", "XYZ*1 inside the body", insert(later_body, "XYZ*1")),
        M("unknown-segment", "before-SE", "XYZ*1 right before SE", insert(S("SE"), "XYZ*1", before=True)),
        M("empty-segment", "tilde-tilde", "an empty segment (two terminators) in the body", insert(later_body, "")),
        M("trailing-separator", "SE", "SE with a trailing element separator", append_el(S("SE"), "")),
        M("duplicate-st02", "same-ST02", "transaction set repeated with the same ST02", duplicate_transaction),
        M("missing-trailer", "SE", "SE removed", drop(S("SE"))),
        M("missing-trailer", "GE", "GE removed", drop(S("GE"))),
        M("missing-trailer", "IEA", "IEA removed", drop(S("IEA"))),
        M("too-long", "ST02", "ST02 (and SE02) 10 characters, max 9", set_st02("1234567890")),
        M("too-short", "ST02", "ST02 (and SE02) 3 characters, min 4", set_st02("123")),
        M("drop", "ST03", "ST03 implementation convention reference removed", set_el(S("ST"), 3, "")),
    ]


_P1 = "837P/demo.example1"
_P2 = "837P/demo.example2"
_PA = "837P/demo.autoaccident"
_PD = "837P/demo.drug.example10.1"
_P7 = "837P/demo.example7"
_I1 = "837I/institutional-claim"
_I2 = "837I/two-claims-single-provider"
_R1 = "835/managed-care"
_R2 = "835/medicare-part-a"
_C1 = "277CA/accepted"

_N3AA = S("N3", after=_NM85)
_N4AA = S("N4", after=_NM85)
_REFEI = S("REF", "EI")


def _specs_837p() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_P1,)
    many = (_P1, _P2, _PA, _PD, _P7)
    sv1, dtp472 = S("SV1"), S("DTP", "472")
    return [
        (many, M("drop", "CLM", "2300 CLM removed", drop(S("CLM")))),
        (many, M("drop", "NM1-85", "2010AA billing provider NM1 removed", drop(_NM85))),
        (many, M("drop", "BHT", "BHT removed", drop(S("BHT")))),
        (one, M("drop", "NM1-41", "1000A submitter NM1 removed", drop(S("NM1", "41")))),
        (one, M("drop", "NM1-40", "1000B receiver NM1 removed", drop(S("NM1", "40")))),
        (one, M("drop", "PER-1000A", "1000A submitter PER removed", drop(S("PER")))),
        (one, M("drop", "N3-2010AA", "2010AA N3 removed", drop(_N3AA))),
        (one, M("drop", "N4-2010AA", "2010AA N4 removed", drop(_N4AA))),
        (one, M("drop", "REF-EI", "2010AA REF*EI tax id removed", drop(_REFEI))),
        (one, M("drop", "SBR", "2000B SBR removed", drop(S("SBR")))),
        (one, M("drop", "NM1-IL", "2010BA subscriber NM1 removed", drop(_NMIL))),
        (one, M("drop", "NM1-PR", "2010BB payer NM1 removed", drop(S("NM1", "PR")))),
        (one, M("drop", "HI", "2300 HI diagnosis removed", drop(S("HI")))),
        (one, M("drop", "LX", "first 2400 LX removed", drop(S("LX")))),
        ((_P1, _P2), M("drop", "SV1", "first 2400 SV1 removed", drop(sv1))),
        ((_P1, _PD), M("drop", "DTP-472", "first 2400 service date removed", drop(dtp472))),
        (one, M("drop", "N4-2010CA", "2010CA patient N4 removed", drop(S("N4", after=S("NM1", "QC"))))),
        (one, M("too-long", "NM103-2010AA", "NM103 61 characters, max 60", set_el(_NM85, 3, _x(61, "BEN ")))),
        ((_P1, _P2), M("too-long", "CLM01", "CLM01 39 characters, max 38", set_el(S("CLM"), 1, _x(39, "26463774")))),
        (one, M("too-long", "BHT03", "BHT03 51 characters, max 50", set_el(S("BHT"), 3, _x(51, "244579")))),
        (one, M("too-long", "N301-2010AA", "N301 56 characters, max 55", set_el(_N3AA, 1, _x(56, "234 SEAWAY ST ")))),
        (one, M("too-long", "N401-2010AA", "N401 31 characters, max 30", set_el(_N4AA, 1, _x(31, "MIAMI ")))),
        (one, M("too-long", "N402-2010AA", "N402 3 characters, ID 2/2", set_el(_N4AA, 2, "FLA"))),
        (one, M("too-long", "SV102", "SV102 19 digits, R max 18", set_el(sv1, 2, "1234567890123456789"))),
        (one, M("too-long", "REF02-EI", "REF02 51 characters, max 50", set_el(_REFEI, 2, _x(51, "587654321")))),
        (one, M("too-short", "N402-2010AA", "N402 1 character, ID 2/2", set_el(_N4AA, 2, "F"))),
        (one, M("too-short", "BHT01", "BHT01 3 characters, ID 4/4", set_el(S("BHT"), 1, "019"))),
        (one, M("too-short", "N403-2010AA", "N403 2 characters, ID 3/15", set_el(_N4AA, 3, "33"))),
        (one, M("too-short", "N401-2010AA", "N401 1 character, AN 2/30", set_el(_N4AA, 1, "M"))),
        (one, M("too-short", "DMG01", "DMG01 1 character, ID 2/3", set_el(S("DMG"), 1, "D"))),
        (one, M("bad-code", "BHT02", "BHT02 99 (00/18)", set_el(S("BHT"), 2, "99"))),
        (one, M("bad-code", "BHT06", "BHT06 ZZ (31/CH/RP)", set_el(S("BHT"), 6, "ZZ"))),
        (one, M("bad-code", "SBR01", "SBR01 Z", set_el(S("SBR"), 1, "Z"))),
        (one, M("bad-code", "CLM07", "CLM07 Z (A/B/C)", set_el(S("CLM"), 7, "Z"))),
        (one, M("bad-code", "DMG03", "DMG03 X (F/M/U)", set_el(S("DMG"), 3, "X"))),
        (one, M("bad-code", "SV103", "SV103 XX (MJ/UN)", set_el(sv1, 3, "XX"))),
        (one, M("bad-code", "DTP01-2400", "2400 DTP01 999", set_el(dtp472, 1, "999"))),
        (one, M("bad-code", "PER03", "1000A PER03 ZZ (EM/FX/TE)", set_el(S("PER"), 3, "ZZ"))),
        (one, M("bad-code", "NM108-2010AA", "2010AA NM108 ZZ (XX)", set_el(_NM85, 8, "ZZ"))),
        (one, M("bad-code", "N402-state", "N402 ZZ (not a state)", set_el(_N4AA, 2, "ZZ"))),
        (one, M("bad-code", "HL03", "HL03 99 on the subscriber HL", set_el(S("HL", "2"), 3, "99"))),
        ((_P1, _P2), M("non-numeric", "CLM02", "CLM02 ABC", set_el(S("CLM"), 2, "ABC"))),
        (one, M("non-numeric", "SV102", "SV102 4O.00 (letter O)", set_el(sv1, 2, "4O.00"))),
        (one, M("non-numeric", "SV104", "SV104 ONE", set_el(sv1, 4, "ONE"))),
        (one, M("non-numeric", "LX01", "LX01 A", set_el(S("LX"), 1, "A"))),
        ((_PD,), M("non-numeric", "AMT02", "AMT02 3.3X", set_el(S("AMT"), 2, "3.3X"))),
        ((_P7,), M("non-numeric", "CR303", "CR303 9X.00", set_el(S("CR3"), 3, "9X.00"))),
        (one, M("out-of-order", "N4-before-N3-2010AA", "2010AA N4 moved before N3", move(_N4AA, _N3AA))),
        (one, M("out-of-order", "BHT-after-NM1-41", "BHT moved after NM1*41", move(S("BHT"), S("NM1", "41"), before=False))),
        (one, M("out-of-order", "PER-after-NM1-40", "1000A PER moved after NM1*40", move(S("PER"), S("NM1", "40"), before=False))),
        ((_P2,), M("out-of-order", "DMG-before-N3-2010BA", "2010BA DMG moved before N3", move(S("DMG"), S("N3", after=_NMIL)))),
        (one, M("out-of-order", "HI-before-CLM", "HI moved before CLM", move(S("HI"), S("CLM")))),
        (one, M("out-of-order", "DTP-before-SV1", "first 2400 DTP moved before SV1", move(dtp472, sv1))),
        (one, M("out-of-order", "REF-EI-before-N3", "2010AA REF*EI moved before N3", move(_REFEI, _N3AA))),
        (one, M("out-of-order", "SBR-after-NM1-IL", "SBR moved after NM1*IL", move(S("SBR"), _NMIL, before=False))),
        ((_P1, _P2), M("repeat-segment", "BHT", "BHT twice (max 1)", dup(S("BHT")))),
        ((_P1, _PA), M("repeat-segment", "PAT", "PAT twice (max 1)", dup(S("PAT")))),
        (one, M("repeat-segment", "DTP-472", "2400 DTP*472 twice (max 1)", dup(dtp472))),
        (one, M("repeat-segment", "N3-2010AA", "2010AA N3 twice (max 1)", dup(_N3AA))),
        (one, M("repeat-segment", "N4-2010AA", "2010AA N4 twice (max 1)", dup(_N4AA))),
        (one, M("repeat-segment", "DMG", "2010CA DMG twice (max 1)", dup(S("DMG")))),
        (one, M("repeat-segment", "SBR", "SBR twice (max 1)", dup(S("SBR")))),
        (one, M("repeat-segment", "SV1", "SV1 twice (max 1)", dup(sv1))),
        (one, M("repeat-segment", "PER-x3", "1000A PER three times (max 2)", dup(S("PER"), times=2))),
        (one, M("repeat-segment", "REF-EI", "2010AA REF*EI twice (max 1)", dup(_REFEI))),
        ((_P1, _P2), M("repeat-loop", "2010AA", "2010AA loop twice (max 1)", dup_range(_NM85, _REFEI))),
        (one, M("repeat-loop", "1000A", "1000A loop twice (max 1)", dup_range(S("NM1", "41"), S("PER")))),
        (one, M("repeat-loop", "1000B", "1000B loop twice (max 1)", dup(S("NM1", "40")))),
        (one, M("repeat-loop", "2010BB", "2010BB payer loop twice (max 1)", dup(S("NM1", "PR")))),
        (one, M("repeat-loop", "2400-x51", "51 service lines (2400 max 50)", add_service_lines(51))),
        (one, M("bad-date", "DTP-20230230", "2400 DTP03 20230230", set_el(dtp472, 3, "20230230"))),
        (one, M("bad-date", "DTP-dashes", "2400 DTP03 2023-01-01 in a D8", set_el(dtp472, 3, "2023-01-01"))),
        (one, M("bad-date", "DTP-month13", "2400 DTP03 20231301", set_el(dtp472, 3, "20231301"))),
        (one, M("bad-date", "DMG02", "DMG02 19730230", set_el(S("DMG"), 2, "19730230"))),
        (one, M("bad-date", "BHT04", "BHT04 20061301", set_el(S("BHT"), 4, "20061301"))),
        ((_P7,), M("bad-date", "RD8-range", "RD8 range ending 20050231", set_el(dtp472, 3, "20050321-20050231"))),
        (one, M("bad-time", "BHT05-hour25", "BHT05 2561", set_el(S("BHT"), 5, "2561"))),
        (one, M("bad-time", "BHT05-minute60", "BHT05 1060", set_el(S("BHT"), 5, "1060"))),
        (one, M("bad-time", "BHT05-short", "BHT05 10 (TM 4/8)", set_el(S("BHT"), 5, "10"))),
        (one, M("empty-segment", "id-only-PAT", "PAT with no elements", set_el(S("PAT"), 1, ""))),
        (one, M("trailing-separator", "NM1-85", "2010AA NM1 ends with *", append_el(_NM85, ""))),
        (one, M("trailing-separator", "CLM", "CLM ends with *", append_el(S("CLM"), ""))),
        (one, M("trailing-separator", "SV101-component", "SV101 ends with a component separator", set_el(sv1, 1, "HC:99213:"))),
        (one, M("empty-required", "NM103-2010AA", "2010AA NM103 empty", set_el(_NM85, 3, ""))),
        (one, M("empty-required", "CLM01", "CLM01 empty", set_el(S("CLM"), 1, ""))),
        (one, M("empty-required", "CLM02", "CLM02 empty", set_el(S("CLM"), 2, ""))),
        (one, M("empty-required", "BHT03", "BHT03 empty", set_el(S("BHT"), 3, ""))),
        (one, M("empty-required", "N401-2010AA", "2010AA N401 empty", set_el(_N4AA, 1, ""))),
        (one, M("empty-required", "SV102", "SV102 empty", set_el(sv1, 2, ""))),
        (one, M("empty-required", "DTP03-2400", "2400 DTP03 missing", set_el(dtp472, 3, ""))),
        (one, M("empty-required", "SBR01", "SBR01 empty", set_el(S("SBR"), 1, ""))),
        (one, M("not-used-filled", "NM106-2010AA", "2010AA NM106 = DR", set_el(_NM85, 6, "DR"))),
        (one, M("not-used-filled", "CLM03", "CLM03 = X", set_el(S("CLM"), 3, "X"))),
        (one, M("not-used-filled", "SV106", "SV106 = X", set_el(sv1, 6, "X"))),
        (one, M("not-used-filled", "N405-2010AA", "2010AA N405 = X", set_el(_N4AA, 5, "X"))),
        (one, M("not-used-filled", "SBR06", "SBR06 = 1", set_el(S("SBR"), 6, "1"))),
        (one, M("not-used-filled", "REF03-EI", "2010AA REF03 = X", set_el(_REFEI, 3, "X"))),
        (one, M("bad-component", "CLM05-2", "CLM05-2 A (837P: B)", set_el(S("CLM"), 5, "A", comp=2))),
        (one, M("bad-component", "SV101-1", "SV101-1 ZZ", set_el(sv1, 1, "ZZ", comp=1))),
        (one, M("bad-component", "HI01-1", "HI01-1 XX", set_el(S("HI"), 1, "XX", comp=1))),
        (one, M("bad-component", "SV107-1-alpha", "SV107-1 A (N0 pointer)", set_el(sv1, 7, "A", comp=1))),
        (one, M("bad-component", "SV101-2-missing", "SV101-2 procedure code missing", set_el(sv1, 1, "HC"))),
        (one, M("bad-component", "CLM05-4-extra", "CLM05 with a 4th component", set_el(S("CLM"), 5, "11:B:1:9"))),
        (one, M("hl-bad-parent", "HL2-parent5", "HL*2 parent 5 (does not exist)", set_el(S("HL", "2"), 2, "5"))),
        (one, M("hl-bad-parent", "HL3-parent3", "HL*3 is its own parent", set_el(S("HL", "3"), 2, "3"))),
        (one, M("hl-bad-parent", "HL2-no-parent", "HL*2 parent missing", set_el(S("HL", "2"), 2, ""))),
        (one, M("hl-bad-count", "HL3-as-4", "HL01 jumps from 2 to 4", set_el(S("HL", "3"), 1, "4"))),
        (one, M("lx-bad-count", "LX2-as-3", "LX01 jumps from 1 to 3", set_el(S("LX", "2"), 1, "3"))),
        (one, M("bad-char", "NM103-BEL", "2010AA NM103 with a BEL control character", set_el(_NM85, 3, "BEN\x07KILDARE"))),
        (one, M("bad-char", "CLM01-NUL", "CLM01 with a NUL character", set_el(S("CLM"), 1, "2646\x003774"))),
    ] + [((_P1,), m) for m in _envelope(S("BHT"), S("CLM"))] + [
        ((_P2,), m)
        for m in _envelope(S("BHT"), S("CLM"))
        if m.family in ("se01-count", "missing-trailer", "duplicate-st02", "unknown-segment")
    ]


def _specs_837i() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_I1,)
    both = (_I1, _I2)
    sv2, dtp434 = S("SV2"), S("DTP", "434")
    return [
        (both, M("drop", "CLM", "2300 CLM removed", drop(S("CLM")))),
        (both, M("drop", "NM1-85", "2010AA billing provider NM1 removed", drop(_NM85))),
        (one, M("drop", "BHT", "BHT removed", drop(S("BHT")))),
        (one, M("drop", "SV2", "first 2400 SV2 removed", drop(sv2))),
        (one, M("drop", "HI-BK", "principal diagnosis HI removed", drop(S("HI")))),
        (one, M("drop", "CL1", "CL1 removed", drop(S("CL1")))),
        (one, M("drop", "DTP-434", "statement dates DTP*434 removed", drop(dtp434))),
        (one, M("drop", "SBR", "SBR removed", drop(S("SBR")))),
        (one, M("drop", "NM1-PR", "2010BB payer NM1 removed", drop(S("NM1", "PR")))),
        (one, M("drop", "N4-2010AA", "2010AA N4 removed", drop(_N4AA))),
        (one, M("drop", "REF-EI", "2010AA REF*EI removed", drop(_REFEI))),
        (one, M("too-long", "CLM01", "CLM01 39 characters, max 38", set_el(S("CLM"), 1, _x(39, "756048Q")))),
        (one, M("too-long", "NM103-2010AA", "NM103 61 characters, max 60", set_el(_NM85, 3, _x(61, "JONES ")))),
        (one, M("too-long", "N402-2010AA", "N402 3 characters, ID 2/2", set_el(_N4AA, 2, "PAX"))),
        (one, M("too-short", "N402-2010AA", "N402 1 character, ID 2/2", set_el(_N4AA, 2, "P"))),
        (one, M("too-short", "DTP02-2400", "2400 DTP02 D (ID 2/3)", set_el(S("DTP", "472"), 2, "D"))),
        (one, M("bad-code", "CLM07", "CLM07 Z (A/B/C)", set_el(S("CLM"), 7, "Z"))),
        (one, M("bad-code", "DMG03", "DMG03 X", set_el(S("DMG"), 3, "X"))),
        (one, M("bad-code", "SV204", "SV204 XX (DA/UN)", set_el(sv2, 4, "XX"))),
        (one, M("bad-code", "BHT06", "BHT06 ZZ", set_el(S("BHT"), 6, "ZZ"))),
        (one, M("bad-code", "SBR01", "SBR01 Z", set_el(S("SBR"), 1, "Z"))),
        (one, M("non-numeric", "CLM02", "CLM02 ABC", set_el(S("CLM"), 2, "ABC"))),
        (one, M("non-numeric", "SV203", "SV203 13.3Y", set_el(sv2, 3, "13.3Y"))),
        (one, M("non-numeric", "SV205", "SV205 ONE", set_el(sv2, 5, "ONE"))),
        (one, M("non-numeric", "LX01", "LX01 A", set_el(S("LX"), 1, "A"))),
        (one, M("out-of-order", "N4-before-N3-2010AA", "2010AA N4 moved before N3", move(_N4AA, _N3AA))),
        (one, M("out-of-order", "CL1-before-DTP-434", "CL1 moved before DTP*434", move(S("CL1"), dtp434))),
        (one, M("out-of-order", "HI-before-CLM", "HI moved before CLM", move(S("HI"), S("CLM")))),
        (one, M("out-of-order", "DMG-before-N3-2010BA", "2010BA DMG moved before N3", move(S("DMG"), S("N3", after=_NMIL)))),
        (one, M("repeat-segment", "CL1", "CL1 twice (max 1)", dup(S("CL1")))),
        (one, M("repeat-segment", "DTP-434", "DTP*434 twice (max 1)", dup(dtp434))),
        (one, M("repeat-segment", "SV2", "SV2 twice (max 1)", dup(sv2))),
        (one, M("repeat-segment", "BHT", "BHT twice (max 1)", dup(S("BHT")))),
        (one, M("repeat-loop", "2010AA", "2010AA loop twice (max 1)", dup_range(_NM85, _REFEI))),
        (one, M("repeat-loop", "2010BB", "2010BB payer loop twice (max 1)", dup_range(S("NM1", "PR"), S("REF", "G2")))),
        (one, M("bad-date", "DTP-434-range", "statement dates ending 19960931", set_el(dtp434, 3, "19960911-19960931"))),
        (one, M("bad-date", "DTP-472-20230230", "2400 DTP03 19960230", set_el(S("DTP", "472"), 3, "19960230"))),
        (one, M("bad-date", "DMG02-dashes", "DMG02 1926-11-11", set_el(S("DMG"), 2, "1926-11-11"))),
        (one, M("bad-time", "BHT05-hour25", "BHT05 2532", set_el(S("BHT"), 5, "2532"))),
        (one, M("empty-segment", "id-only-CL1", "CL1 with no elements", set_el(S("CL1"), 1, ""))),
        (one, M("trailing-separator", "CLM", "CLM ends with *", append_el(S("CLM"), ""))),
        (one, M("empty-required", "CLM01", "CLM01 empty", set_el(S("CLM"), 1, ""))),
        (one, M("empty-required", "SV201", "SV201 revenue code empty", set_el(sv2, 1, ""))),
        (one, M("empty-required", "NM103-2010AA", "2010AA NM103 empty", set_el(_NM85, 3, ""))),
        (one, M("not-used-filled", "CLM03", "CLM03 = X", set_el(S("CLM"), 3, "X"))),
        (one, M("not-used-filled", "N405-2010AA", "2010AA N405 = X", set_el(_N4AA, 5, "X"))),
        (one, M("not-used-filled", "SV206", "SV206 = 1", set_el(sv2, 6, "1"))),
        (one, M("bad-component", "CLM05-2", "CLM05-2 B (837I: A)", set_el(S("CLM"), 5, "B", comp=2))),
        (one, M("bad-component", "SV202-1", "SV202-1 ZZ", set_el(sv2, 2, "ZZ", comp=1))),
        (one, M("bad-component", "HI01-1", "HI01-1 XX", set_el(S("HI"), 1, "XX", comp=1))),
        (one, M("hl-bad-parent", "HL2-parent5", "HL*2 parent 5 (does not exist)", set_el(S("HL", "2"), 2, "5"))),
        ((_I2,), M("hl-bad-parent", "HL3-parent2", "HL*3 (subscriber) child of HL*2 (subscriber)", set_el(S("HL", "3"), 2, "2"))),
        ((_I2,), M("hl-bad-count", "HL3-as-4", "HL01 jumps from 2 to 4", set_el(S("HL", "3"), 1, "4"))),
        (one, M("lx-bad-count", "LX2-as-3", "LX01 jumps from 1 to 3", set_el(S("LX", "2"), 1, "3"))),
        (one, M("bad-char", "NM103-BEL", "2010AA NM103 with a BEL control character", set_el(_NM85, 3, "JONES\x07HOSPITAL"))),
    ] + [((_I1,), m) for m in _envelope(S("BHT"), S("CLM"))]


def _specs_835() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_R1,)
    both = (_R1, _R2)
    n1pr, n1pe = S("N1", "PR"), S("N1", "PE")
    dtm405 = S("DTM", "405")
    return [
        (both, M("drop", "BPR", "BPR removed", drop(S("BPR")))),
        (both, M("drop", "CLP", "first CLP removed", drop(S("CLP")))),
        (one, M("drop", "TRN", "TRN removed", drop(S("TRN")))),
        (one, M("drop", "N1-PR", "1000A payer N1 removed", drop(n1pr))),
        (one, M("drop", "N1-PE", "1000B payee N1 removed", drop(n1pe))),
        (one, M("drop", "N3-1000A", "1000A payer N3 removed", drop(S("N3")))),
        (one, M("drop", "N4-1000A", "1000A payer N4 removed", drop(S("N4")))),
        (one, M("drop", "NM1-QC", "first 2100 patient NM1 removed", drop(S("NM1", "QC")))),
        (one, M("too-long", "CLP01", "CLP01 39 characters, max 38", set_el(S("CLP"), 1, _x(39, "5554555444")))),
        (one, M("too-long", "TRN02", "TRN02 51 characters, max 50", set_el(S("TRN"), 2, _x(51, "7170066655")))),
        (one, M("too-long", "N102-PR", "payer N102 61 characters, max 60", set_el(n1pr, 2, _x(61, "RUSHMORE LIFE ")))),
        (one, M("too-long", "BPR02", "BPR02 19 digits, R max 18", set_el(S("BPR"), 2, "1234567890123456789"))),
        (one, M("too-long", "N402", "payer N402 3 characters", set_el(S("N4"), 2, "SDA"))),
        (one, M("too-short", "N402", "payer N402 1 character", set_el(S("N4"), 2, "S"))),
        (one, M("too-short", "DTM01", "DTM01 40 (ID 3/3)", set_el(dtm405, 1, "40"))),
        (one, M("too-short", "REF01-TJ", "1000B REF01 T (ID 2/3)", set_el(S("REF", "TJ"), 1, "T"))),
        (one, M("bad-code", "BPR01", "BPR01 Z", set_el(S("BPR"), 1, "Z"))),
        (one, M("bad-code", "BPR03", "BPR03 Z (C/D)", set_el(S("BPR"), 3, "Z"))),
        (one, M("bad-code", "TRN01", "TRN01 9 (1)", set_el(S("TRN"), 1, "9"))),
        (one, M("bad-code", "CLP02", "CLP02 99", set_el(S("CLP"), 2, "99"))),
        (one, M("bad-code", "CAS01", "CAS01 ZZ (CO/OA/PI/PR)", set_el(S("CAS"), 1, "ZZ"))),
        (one, M("bad-code", "N103-PE", "payee N103 ZZ", set_el(n1pe, 3, "ZZ"))),
        (one, M("non-numeric", "BPR02", "BPR02 ABC", set_el(S("BPR"), 2, "ABC"))),
        (one, M("non-numeric", "CLP03", "CLP03 8OO.00", set_el(S("CLP"), 3, "8OO.00"))),
        (one, M("non-numeric", "CAS03", "CAS03 X", set_el(S("CAS"), 3, "X"))),
        (one, M("non-numeric", "SVC02", "SVC02 8OO.00", set_el(S("SVC"), 2, "8OO.00"))),
        ((_R2,), M("non-numeric", "QTY02", "QTY02 EIGHT", set_el(S("QTY"), 2, "EIGHT"))),
        ((_R2,), M("non-numeric", "LX01", "LX01 A", set_el(S("LX"), 1, "A"))),
        (one, M("out-of-order", "TRN-before-BPR", "TRN moved before BPR", move(S("TRN"), S("BPR")))),
        (one, M("out-of-order", "N4-before-N3", "payer N4 moved before N3", move(S("N4"), S("N3")))),
        (one, M("out-of-order", "NM1-before-CAS", "first NM1*QC moved before the CAS", move(S("NM1", "QC"), S("CAS")))),
        (one, M("out-of-order", "DTM-405-before-TRN", "DTM*405 moved before TRN", move(dtm405, S("TRN")))),
        (one, M("repeat-segment", "BPR", "BPR twice (max 1)", dup(S("BPR")))),
        (one, M("repeat-segment", "TRN", "TRN twice (max 1)", dup(S("TRN")))),
        (one, M("repeat-segment", "N3-1000A", "payer N3 twice (max 1)", dup(S("N3")))),
        (one, M("repeat-segment", "N4-1000A", "payer N4 twice (max 1)", dup(S("N4")))),
        (one, M("repeat-segment", "NM1-QC", "patient NM1 twice (max 1)", dup(S("NM1", "QC")))),
        (one, M("repeat-segment", "DTM-405", "DTM*405 twice (max 1)", dup(dtm405))),
        (one, M("repeat-loop", "1000A", "1000A payer loop twice (max 1)", dup_range(n1pr, S("N4")))),
        (one, M("repeat-loop", "1000B", "1000B payee loop twice (max 1)", dup_range(n1pe, S("REF", "TJ")))),
        (one, M("bad-date", "DTM-405", "DTM*405 20020230", set_el(dtm405, 2, "20020230"))),
        (one, M("bad-date", "BPR16-dashes", "BPR16 2000-23-16", set_el(S("BPR"), 16, "2000-23-16"))),
        (one, M("bad-date", "DTM-150-month13", "DTM*150 20021301", set_el(S("DTM", "150"), 2, "20021301"))),
        ((_R2,), M("bad-date", "TS302", "TS302 20021232", set_el(S("TS3"), 3, "20021232"))),
        (one, M("empty-segment", "id-only-REF", "REF with no elements", set_el(S("REF", "TJ"), 1, ""))),
        (one, M("trailing-separator", "CLP", "CLP ends with *", append_el(S("CLP"), ""))),
        (one, M("trailing-separator", "N1-PE", "payee N1 ends with *", append_el(n1pe, ""))),
        (one, M("empty-required", "CLP01", "CLP01 empty", set_el(S("CLP"), 1, ""))),
        (one, M("empty-required", "BPR02", "BPR02 empty", set_el(S("BPR"), 2, ""))),
        (one, M("empty-required", "TRN02", "TRN02 empty", set_el(S("TRN"), 2, ""))),
        (one, M("empty-required", "N102-PR", "payer N102 empty", set_el(n1pr, 2, ""))),
        (one, M("not-used-filled", "REF03-TJ", "payee REF03 = X", set_el(S("REF", "TJ"), 3, "X"))),
        (one, M("not-used-filled", "N105-PR", "payer N105 = 01", set_el(n1pr, 5, "01"))),
        (one, M("not-used-filled", "N405", "payer N405 = X", set_el(S("N4"), 5, "X"))),
        (one, M("bad-component", "SVC01-1", "SVC01-1 ZZ", set_el(S("SVC"), 1, "ZZ", comp=1))),
        (one, M("bad-component", "SVC01-2-missing", "SVC01-2 procedure code missing", set_el(S("SVC"), 1, "HC"))),
        ((_R2,), M("bad-component", "PLB03-1", "PLB03-1 ZZ", set_el(S("PLB"), 3, "ZZ", comp=1))),
        (one, M("bad-char", "N102-BEL", "payer N102 with a BEL control character", set_el(n1pr, 2, "RUSHMORE\x07LIFE"))),
    ] + [((_R1,), m) for m in _envelope(S("BPR"), S("CLP"))]


def _specs_277ca() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_C1,)
    trn2200a = S("TRN", "1")
    stc2200b = S("STC")
    return [
        (one, M("drop", "BHT", "BHT removed", drop(S("BHT")))),
        (one, M("drop", "NM1-PR", "2100A payer NM1 removed", drop(S("NM1", "PR")))),
        (one, M("drop", "TRN-2200A", "2200A TRN removed", drop(trn2200a))),
        (one, M("drop", "DTP-050", "2200A DTP*050 removed", drop(S("DTP", "050")))),
        (one, M("drop", "DTP-009", "2200A DTP*009 removed", drop(S("DTP", "009")))),
        (one, M("drop", "NM1-41", "2100B submitter NM1 removed", drop(S("NM1", "41")))),
        (one, M("drop", "STC-2200B", "2200B STC removed", drop(stc2200b))),
        (one, M("drop", "NM1-QC", "2100D patient NM1 removed", drop(S("NM1", "QC")))),
        (one, M("drop", "STC-2200D", "2200D STC removed", drop(S("STC", after=S("NM1", "QC"))))),
        (one, M("too-long", "TRN02-2200A", "TRN02 51 characters, max 50", set_el(trn2200a, 2, _x(51, "000014420")))),
        (one, M("too-long", "NM103-PR", "NM103 61 characters, max 60", set_el(S("NM1", "PR"), 3, _x(61, "NYSDOH ")))),
        (one, M("too-long", "BHT03", "BHT03 51 characters, max 50", set_el(S("BHT"), 3, _x(51, "000000674")))),
        (one, M("too-long", "REF02-1K", "REF02 51 characters, max 50", set_el(S("REF", "1K"), 2, _x(51, "1107")))),
        (one, M("too-short", "BHT01", "BHT01 085 (ID 4/4)", set_el(S("BHT"), 1, "085"))),
        (one, M("too-short", "DTP02-050", "DTP02 D (ID 2/3)", set_el(S("DTP", "050"), 2, "D"))),
        (one, M("too-short", "QTY01", "QTY01 9 (ID 2/2)", set_el(S("QTY"), 1, "9"))),
        (one, M("bad-code", "BHT02", "BHT02 99 (08)", set_el(S("BHT"), 2, "99"))),
        (one, M("bad-code", "BHT06", "BHT06 ZZ (TH)", set_el(S("BHT"), 6, "ZZ"))),
        (one, M("bad-code", "NM102-PR", "NM102 3 (1/2)", set_el(S("NM1", "PR"), 2, "3"))),
        (one, M("bad-code", "QTY01", "QTY01 ZZ", set_el(S("QTY"), 1, "ZZ"))),
        (one, M("bad-code", "AMT01", "AMT01 ZZ", set_el(S("AMT"), 1, "ZZ"))),
        (one, M("bad-code", "STC03", "STC03 XX", set_el(stc2200b, 3, "XX"))),
        (one, M("non-numeric", "QTY02", "QTY02 ONE", set_el(S("QTY"), 2, "ONE"))),
        (one, M("non-numeric", "AMT02", "AMT02 12X.0", set_el(S("AMT"), 2, "12X.0"))),
        (one, M("non-numeric", "STC04", "STC04 ABC", set_el(stc2200b, 4, "ABC"))),
        (one, M("out-of-order", "TRN-before-NM1-PR", "2200A TRN moved before NM1*PR", move(trn2200a, S("NM1", "PR")))),
        (one, M("out-of-order", "AMT-before-QTY", "AMT moved before QTY", move(S("AMT"), S("QTY")))),
        (one, M("out-of-order", "STC-before-TRN-2200B", "2200B STC moved before TRN", move(stc2200b, S("TRN", "2")))),
        (one, M("repeat-segment", "BHT", "BHT twice (max 1)", dup(S("BHT")))),
        (one, M("repeat-segment", "TRN-2200A", "2200A TRN twice (max 1)", dup(trn2200a))),
        (one, M("repeat-segment", "DTP-050", "DTP*050 twice (max 1)", dup(S("DTP", "050")))),
        (one, M("repeat-segment", "QTY", "QTY*90 twice (max 1)", dup(S("QTY")))),
        (one, M("repeat-loop", "2100A", "2100A payer loop twice (max 1)", dup(S("NM1", "PR")))),
        (one, M("repeat-loop", "2100B", "2100B submitter loop twice (max 1)", dup(S("NM1", "41")))),
        (one, M("bad-date", "DTP-050", "DTP*050 20110230", set_el(S("DTP", "050"), 3, "20110230"))),
        (one, M("bad-date", "DTP-009-dashes", "DTP*009 2011-03-11", set_el(S("DTP", "009"), 3, "2011-03-11"))),
        (one, M("bad-date", "STC02-month13", "STC02 20111301", set_el(stc2200b, 2, "20111301"))),
        (one, M("bad-date", "BHT04", "BHT04 20111301", set_el(S("BHT"), 4, "20111301"))),
        (one, M("bad-time", "BHT05-hour25", "BHT05 250831", set_el(S("BHT"), 5, "250831"))),
        (one, M("bad-time", "BHT05-second60", "BHT05 100860", set_el(S("BHT"), 5, "100860"))),
        (one, M("bad-time", "BHT05-5digits", "BHT05 10083 (HHMM or HHMMSS)", set_el(S("BHT"), 5, "10083"))),
        (one, M("empty-segment", "id-only-QTY", "QTY with no elements", set_el(S("QTY"), 1, ""))),
        (one, M("trailing-separator", "NM1-PR", "NM1*PR ends with *", append_el(S("NM1", "PR"), ""))),
        (one, M("empty-required", "TRN02-2200A", "2200A TRN02 empty", set_el(trn2200a, 2, ""))),
        (one, M("empty-required", "NM103-PR", "NM103 empty", set_el(S("NM1", "PR"), 3, ""))),
        (one, M("empty-required", "STC02", "STC02 empty", set_el(stc2200b, 2, ""))),
        (one, M("not-used-filled", "TRN03-2200C", "2200C TRN03 = 1", set_el(S("TRN", "1", nth=1), 3, "1"))),
        (one, M("not-used-filled", "NM104-PR", "payer NM104 = X", set_el(S("NM1", "PR"), 4, "X"))),
        (one, M("bad-component", "STC01-1", "STC01-1 ZZ", set_el(stc2200b, 1, "ZZ", comp=1))),
        (one, M("bad-component", "STC01-2-missing", "STC01-2 status code missing", set_el(stc2200b, 1, "A1"))),
        (one, M("hl-bad-parent", "HL4-parent9", "HL*4 parent 9 (does not exist)", set_el(S("HL", "4"), 2, "9"))),
        (one, M("hl-bad-parent", "HL3-parent3", "HL*3 is its own parent", set_el(S("HL", "3"), 2, "3"))),
        (one, M("hl-bad-count", "HL4-as-5", "HL01 jumps from 3 to 5", set_el(S("HL", "4"), 1, "5"))),
        (one, M("bad-char", "NM103-BEL", "payer NM103 with a BEL control character", set_el(S("NM1", "PR"), 3, "NYS\x07DOH"))),
    ] + [((_C1,), m) for m in _envelope(S("BHT"), S("STC"))]


_E1 = "270/subscriber-health-benefit-check"
_B1 = "271/subscriber-health-benefit-check"
_B2 = "271/subscriber-health-benefit-check-error"

_NMPR, _NM1P = S("NM1", "PR"), S("NM1", "1P")


def _specs_270() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_E1,)
    trn, dtp = S("TRN"), S("DTP", "291")
    return [
        (one, M("drop", "BHT", "BHT removed", drop(S("BHT")))),
        (one, M("drop", "NM1-PR", "2100A information source NM1 removed", drop(_NMPR))),
        (one, M("drop", "NM1-1P", "2100B information receiver NM1 removed", drop(_NM1P))),
        (one, M("drop", "NM1-IL", "2100C subscriber NM1 removed", drop(_NMIL))),
        (one, M("drop", "HL-3", "2000C subscriber HL removed", drop(S("HL", "3")))),
        (one, M("drop", "TRN", "2000C TRN removed (situational: the file stays valid)", drop(trn))),
        (one, M("too-long", "NM103-IL", "subscriber NM103 61 characters, max 60", set_el(_NMIL, 3, _x(61, "SMITH ")))),
        (one, M("too-long", "TRN02", "TRN02 51 characters, max 50", set_el(trn, 2, _x(51, "93175-012547")))),
        (one, M("too-long", "BHT03", "BHT03 51 characters, max 50", set_el(S("BHT"), 3, _x(51, "10001234")))),
        (one, M("too-long", "NM109-PR", "payer NM109 81 characters, max 80", set_el(_NMPR, 9, _x(81, "842610001")))),
        (one, M("too-long", "TRN03", "TRN03 11 characters (AN 10/10)", set_el(trn, 3, "98772812345"))),
        (one, M("too-short", "TRN03", "TRN03 9 characters (AN 10/10)", set_el(trn, 3, "987728123"))),
        (one, M("too-short", "BHT01", "BHT01 002 (ID 4/4)", set_el(S("BHT"), 1, "002"))),
        (one, M("too-short", "NM109-IL", "subscriber NM109 1 character (AN 2/80)", set_el(_NMIL, 9, "1"))),
        (one, M("too-short", "DTP01", "DTP01 29 (ID 3/3)", set_el(dtp, 1, "29"))),
        (one, M("bad-code", "EQ01-ZZZ", "EQ01 service type ZZZ", set_el(S("EQ"), 1, "ZZZ"))),
        (one, M("bad-code", "EQ01-Q9", "EQ01 service type Q9", set_el(S("EQ"), 1, "Q9"))),
        (one, M("bad-code", "NM101-PR", "2100A NM101 ZZ", set_el(_NMPR, 1, "ZZ"))),
        (one, M("bad-code", "NM101-IL", "2100C NM101 QC (IL only)", set_el(_NMIL, 1, "QC"))),
        (one, M("bad-code", "BHT02", "BHT02 11 (a response code; 270: 01/13)", set_el(S("BHT"), 2, "11"))),
        (one, M("bad-code", "HL03-2", "2000B HL03 99", set_el(S("HL", "2"), 3, "99"))),
        (one, M("bad-code", "DMG01", "DMG01 ZZ (D8)", set_el(S("DMG"), 1, "ZZ"))),
        (one, M("bad-code", "NM108-1P", "2100B NM108 ZZ", set_el(_NM1P, 8, "ZZ"))),
        (one, M("bad-code", "TRN01", "TRN01 2 (270: 1)", set_el(trn, 1, "2"))),
        (one, M("bad-code", "DMG03", "DMG03 X (F/M/U)", append_el(S("DMG"), "X"))),
        (one, M("non-numeric", "AMT02-R", "2110C AMT*R inserted with AMT02 12X.00", insert(S("EQ"), "AMT*R*12X.00"))),
        (one, M("non-numeric", "AMT02-PB", "2110C AMT*PB inserted with AMT02 ABC", insert(S("EQ"), "AMT*PB*ABC"))),
        (one, M("out-of-order", "DMG-after-DTP", "DMG moved after the 2100C DTP", move(S("DMG"), dtp, before=False))),
        (one, M("out-of-order", "TRN-after-NM1-IL", "TRN moved after NM1*IL", move(trn, _NMIL, before=False))),
        (one, M("out-of-order", "NM1-1P-before-HL-2", "NM1*1P moved before its HL", move(_NM1P, S("HL", "2")))),
        (one, M("out-of-order", "BHT-after-HL-1", "BHT moved after HL*1", move(S("BHT"), S("HL", "1"), before=False))),
        (one, M("repeat-segment", "DMG", "DMG twice (max 1)", dup(S("DMG")))),
        (one, M("repeat-segment", "TRN-x3", "TRN three times (270 max 2)", dup(trn, times=2))),
        (one, M("repeat-segment", "BHT", "BHT twice (max 1)", dup(S("BHT")))),
        (one, M("repeat-segment", "DTP-x3", "2100C DTP three times (max 2)", dup(dtp, times=2))),
        (one, M("repeat-loop", "2100A", "2100A loop twice (max 1)", dup(_NMPR))),
        (one, M("repeat-loop", "2100B", "2100B loop twice (max 1)", dup(_NM1P))),
        (one, M("repeat-loop", "2100C", "2100C loop (NM1*IL..DTP) twice (max 1)", dup_range(_NMIL, dtp))),
        (one, M("repeat-loop", "2110C-x100", "100 EQ, 2110C max 99", dup(S("EQ"), times=99))),
        (one, M("bad-date", "DMG02", "DMG02 19430230", set_el(S("DMG"), 2, "19430230"))),
        (one, M("bad-date", "DMG02-dashes", "DMG02 1943-05-19", set_el(S("DMG"), 2, "1943-05-19"))),
        (one, M("bad-date", "DTP03-D8", "DTP03 20060231 (D8)", set_el(dtp, 3, "20060231"))),
        (one, M("bad-date", "DTP03-RD8", "DTP RD8 20060501-20060532", set_el(dtp, 2, "RD8"), set_el(dtp, 3, "20060501-20060532"))),
        (one, M("bad-date", "DTP03-RD8-single", "DTP02 RD8 with a single date", set_el(dtp, 2, "RD8"))),
        (one, M("bad-date", "BHT04", "BHT04 20061301", set_el(S("BHT"), 4, "20061301"))),
        (one, M("bad-time", "BHT05-hour25", "BHT05 2519", set_el(S("BHT"), 5, "2519"))),
        (one, M("bad-time", "BHT05-minute60", "BHT05 1360", set_el(S("BHT"), 5, "1360"))),
        (one, M("bad-time", "BHT05-short", "BHT05 13 (TM 4/8)", set_el(S("BHT"), 5, "13"))),
        (one, M("empty-segment", "id-only-DMG", "DMG with no elements", id_only(S("DMG")))),
        (one, M("trailing-separator", "NM1-IL", "NM1*IL ends with *", append_el(_NMIL, ""))),
        (one, M("trailing-separator", "EQ", "EQ ends with *", append_el(S("EQ"), ""))),
        (one, M("empty-required", "NM109-PR", "payer NM109 empty", set_el(_NMPR, 9, ""))),
        (one, M("empty-required", "TRN02", "TRN02 empty", set_el(trn, 2, "", rstrip=False))),
        (one, M("empty-required", "DMG02", "DMG02 empty", set_el(S("DMG"), 2, ""))),
        (one, M("empty-required", "BHT04", "BHT04 empty", set_el(S("BHT"), 4, "", rstrip=False))),
        (one, M("empty-required", "HL04-3", "2000C HL04 empty", set_el(S("HL", "3"), 4, ""))),
        (one, M("empty-required", "EQ01-R0102", "EQ with EQ03 only (R0102: EQ01 or EQ02)", set_el(S("EQ"), 1, "", rstrip=False), set_el(S("EQ"), 3, "IND"))),
        (one, M("empty-required", "NM109-IL-P0809", "subscriber NM108 MI without NM109 (P0809)", set_el(_NMIL, 9, ""))),
        (one, M("not-used-filled", "NM106-IL", "subscriber NM106 = X", set_el(_NMIL, 6, "X"))),
        (one, M("not-used-filled", "NM112-PR", "payer NM112 = X", set_el(_NMPR, 12, "X"))),
        (one, M("not-used-filled", "DMG04", "DMG04 = M", set_el(S("DMG"), 4, "M"))),
        (one, M("bad-component", "EQ02-1", "EQ02 XX:99213 (qualifier XX)", set_el(S("EQ"), 2, "XX:99213"))),
        (one, M("bad-component", "EQ02-2-missing", "EQ02 HC (procedure code missing)", set_el(S("EQ"), 2, "HC"))),
        (one, M("bad-component", "EQ05-1", "EQ05-1 9 (pointer 1..8)", set_el(S("EQ"), 5, "9"))),
        (one, M("bad-component", "EQ02-9-extra", "EQ02 with a 9th component (max 8)", set_el(S("EQ"), 2, "HC:99213:::::::9"))),
        (one, M("hl-bad-parent", "HL3-parent9", "HL*3 parent 9 (does not exist)", set_el(S("HL", "3"), 2, "9"))),
        (one, M("hl-bad-parent", "HL2-parent2", "HL*2 is its own parent", set_el(S("HL", "2"), 2, "2"))),
        (one, M("hl-bad-count", "HL3-as-4", "HL01 jumps from 2 to 4", set_el(S("HL", "3"), 1, "4"))),
        (one, M("bad-char", "NM103-BEL", "subscriber NM103 with a BEL control character", set_el(_NMIL, 3, "SM\x07ITH"))),
    ] + [(one, m) for m in _envelope(S("BHT"), S("DMG"))]


def _specs_271() -> list[tuple[tuple[str, ...], Mut]]:
    one = (_B1,)
    err = (_B2,)
    both = (_B1, _B2)
    trn, dtp, eb1, aaa = S("TRN"), S("DTP", "346"), S("EB", "1"), S("AAA")
    return [
        (both, M("drop", "BHT", "BHT removed", drop(S("BHT")))),
        (both, M("drop", "NM1-PR", "2100A information source NM1 removed", drop(_NMPR))),
        (both, M("drop", "NM1-1P", "2100B information receiver NM1 removed", drop(_NM1P))),
        (one, M("drop", "NM1-IL", "2100C subscriber NM1 removed", drop(_NMIL))),
        (one, M("drop", "HL-3", "2000C subscriber HL removed", drop(S("HL", "3")))),
        (one, M("drop", "EB-before-LS", "the two EB before LS removed (LS/2120C/LE left without EB)", drop(eb1), drop(S("EB", "L")))),
        (one, M("drop", "LE", "LE removed (LS without LE)", drop(S("LE")))),
        (one, M("too-long", "NM103-IL", "subscriber NM103 61 characters, max 60", set_el(_NMIL, 3, _x(61, "SMITH ")))),
        (one, M("too-long", "EB05", "EB05 51 characters, max 50", set_el(eb1, 5, _x(51, "GOLD-123-PLAN ")))),
        (one, M("too-long", "TRN02", "TRN02 51 characters, max 50", set_el(trn, 2, _x(51, "93175-012547")))),
        (one, M("too-long", "EB07", "EB07 19 digits, R max 18", set_el(S("EB", "B"), 7, "1234567890123456789"))),
        (one, M("too-long", "N301", "N301 56 characters, max 55", set_el(S("N3"), 1, _x(56, "15197 BROADWAY AVENUE ")))),
        (err, M("too-long", "AAA03", "AAA03 500 (ID 2/2)", set_el(aaa, 3, "500"))),
        (one, M("too-short", "BHT01", "BHT01 002 (ID 4/4)", set_el(S("BHT"), 1, "002"))),
        (one, M("too-short", "N402", "N402 M (ID 2/2)", set_el(S("N4"), 2, "M"))),
        (one, M("too-short", "DTP01", "DTP01 34 (ID 3/3)", set_el(dtp, 1, "34"))),
        (err, M("too-short", "AAA03", "AAA03 5 (ID 2/2)", set_el(aaa, 3, "5"))),
        (one, M("bad-code", "EB01", "EB01 Q9", set_el(S("EB", "L"), 1, "Q9"))),
        (one, M("bad-code", "LS01", "LS01 212 (2120)", set_el(S("LS"), 1, "212"))),
        (one, M("bad-code", "EB03", "EB03 ZZ", set_el(eb1, 3, "ZZ"))),
        (one, M("bad-code", "EB06", "EB06 time period 99", set_el(eb1, 6, "99"))),
        (one, M("bad-code", "EB11", "EB11 Z (N/U/Y)", set_el(S("EB", "B"), 11, "Z"))),
        (both, M("bad-code", "NM101-PR", "2100A NM101 ZZ", set_el(_NMPR, 1, "ZZ"))),
        (one, M("bad-code", "NM101-IL", "2100C NM101 QC (IL only)", set_el(_NMIL, 1, "QC"))),
        (one, M("bad-code", "BHT02", "BHT02 13 (a request code; 271: 06/11)", set_el(S("BHT"), 2, "13"))),
        (one, M("bad-code", "DMG03", "DMG03 X (F/M/U)", set_el(S("DMG"), 3, "X"))),
        (one, M("bad-code", "N402", "N402 XX (not a state)", set_el(S("N4"), 2, "XX"))),
        (one, M("bad-code", "HL04-3", "2000C HL04 2", set_el(S("HL", "3"), 4, "2"))),
        (err, M("bad-code", "AAA01", "AAA01 Z (N/Y)", set_el(aaa, 1, "Z"))),
        (err, M("bad-code", "AAA03", "AAA03 ZZ", set_el(aaa, 3, "ZZ"))),
        (one, M("non-numeric", "EB07", "EB07 1O.00 (letter O)", set_el(S("EB", "B"), 7, "1O.00"))),
        (one, M("non-numeric", "EB08", "EB08 ABC (percent)", set_el(eb1, 8, "ABC"))),
        (one, M("non-numeric", "EB10", "EB09 VS with EB10 X (quantity)", set_el(eb1, 9, "VS"), set_el(eb1, 10, "X"))),
        (one, M("out-of-order", "N4-before-N3", "N4 moved before N3", move(S("N4"), S("N3")))),
        (one, M("out-of-order", "DMG-before-N3", "DMG moved before N3", move(S("DMG"), S("N3")))),
        (one, M("out-of-order", "TRN-after-NM1-IL", "TRN moved after NM1*IL", move(trn, _NMIL, before=False))),
        (one, M("out-of-order", "DTP-before-DMG", "2100C DTP moved before DMG", move(dtp, S("DMG")))),
        (one, M("out-of-order", "LE-before-NM1-P3", "LE moved before the 2120C NM1", move(S("LE"), S("NM1", "P3")))),
        (err, M("out-of-order", "AAA-before-NM1-1P", "2100B AAA moved before NM1*1P", move(aaa, _NM1P))),
        (one, M("repeat-segment", "BHT", "BHT twice (max 1)", dup(S("BHT")))),
        (one, M("repeat-segment", "DMG", "DMG twice (max 1)", dup(S("DMG")))),
        (one, M("repeat-segment", "TRN-x4", "TRN four times (271 max 3)", dup(trn, times=3))),
        (one, M("repeat-segment", "DTP-x10", "2100C DTP ten times (max 9)", dup(dtp, times=9))),
        (one, M("repeat-segment", "N3", "N3 twice (max 1)", dup(S("N3")))),
        (one, M("repeat-segment", "LS", "LS twice (max 1)", dup(S("LS")))),
        (err, M("repeat-segment", "AAA-x10", "2100B AAA ten times (max 9)", dup(aaa, times=9))),
        (both, M("repeat-loop", "2100B", "2100B loop twice (max 1)", dup(_NM1P))),
        (one, M("repeat-loop", "2100A", "2100A loop twice (max 1)", dup(_NMPR))),
        (one, M("repeat-loop", "2100C", "2100C loop (NM1*IL..DTP) twice (max 1)", dup_range(_NMIL, dtp))),
        (one, M("repeat-loop", "2120C-x24", "24 NM1*P3 in LS/LE (2120C max 23)", dup(S("NM1", "P3"), times=23))),
        (one, M("bad-date", "DMG02", "DMG02 19630230", set_el(S("DMG"), 2, "19630230"))),
        (one, M("bad-date", "DTP03-D8", "DTP03 20060231 (D8)", set_el(dtp, 3, "20060231"))),
        (one, M("bad-date", "DTP03-RD8", "DTP RD8 20060101-20061232", set_el(dtp, 2, "RD8"), set_el(dtp, 3, "20060101-20061232"))),
        (one, M("bad-date", "DTP03-RD8-single", "DTP02 RD8 with a single date", set_el(dtp, 2, "RD8"))),
        (one, M("bad-date", "BHT04", "BHT04 20061301", set_el(S("BHT"), 4, "20061301"))),
        (one, M("bad-time", "BHT05-hour25", "BHT05 2519", set_el(S("BHT"), 5, "2519"))),
        (one, M("bad-time", "BHT05-minute60", "BHT05 1360", set_el(S("BHT"), 5, "1360"))),
        (err, M("bad-time", "BHT05-short", "BHT05 13 (TM 4/8)", set_el(S("BHT"), 5, "13"))),
        (one, M("empty-segment", "id-only-DMG", "DMG with no elements", id_only(S("DMG")))),
        (one, M("trailing-separator", "EB-L", "EB*L ends with *", append_el(S("EB", "L"), ""))),
        (one, M("trailing-separator", "NM1-IL", "NM1*IL ends with *", append_el(_NMIL, ""))),
        (one, M("empty-required", "NM109-PR", "payer NM109 empty", set_el(_NMPR, 9, ""))),
        (one, M("empty-required", "TRN02", "TRN02 empty", set_el(trn, 2, "", rstrip=False))),
        (one, M("empty-required", "EB01", "EB01 empty", set_el(eb1, 1, "", rstrip=False))),
        (one, M("empty-required", "DMG02", "DMG02 empty", set_el(S("DMG"), 2, "", rstrip=False))),
        (one, M("empty-required", "EB10-P0910", "EB09 VS without EB10 (P0910)", set_el(eb1, 9, "VS"))),
        (err, M("empty-required", "AAA03", "AAA03 empty", set_el(aaa, 3, "", rstrip=False))),
        (one, M("not-used-filled", "BHT06", "BHT06 = RT (271: Not Used)", set_el(S("BHT"), 6, "RT"))),
        (one, M("not-used-filled", "NM106-IL", "subscriber NM106 = X", set_el(_NMIL, 6, "X"))),
        (one, M("not-used-filled", "DMG04", "DMG04 = M", set_el(S("DMG"), 4, "M"))),
        (err, M("not-used-filled", "AAA02", "AAA02 = Y", set_el(aaa, 2, "Y"))),
        (one, M("bad-component", "EB13-1", "EB13 XX:99213 (qualifier XX)", set_el(eb1, 13, "XX:99213"))),
        (one, M("bad-component", "EB13-2-missing", "EB13 HC (procedure code missing)", set_el(eb1, 13, "HC"))),
        (one, M("bad-component", "EB14-1", "EB14-1 9 (pointer 1..8)", set_el(eb1, 14, "9"))),
        (one, M("hl-bad-parent", "HL3-parent9", "HL*3 parent 9 (does not exist)", set_el(S("HL", "3"), 2, "9"))),
        (one, M("hl-bad-parent", "HL2-parent2", "HL*2 is its own parent", set_el(S("HL", "2"), 2, "2"))),
        (err, M("hl-bad-parent", "HL2-parent5", "HL*2 parent 5 (does not exist)", set_el(S("HL", "2"), 2, "5"))),
        (one, M("hl-bad-count", "HL3-as-4", "HL01 jumps from 2 to 4", set_el(S("HL", "3"), 1, "4"))),
        (one, M("bad-char", "NM103-BEL", "subscriber NM103 with a BEL control character", set_el(_NMIL, 3, "SM\x07ITH"))),
    ] + [(one, m) for m in _envelope(S("BHT"), S("EB", "L"))] + [
        (err, m)
        for m in _envelope(S("BHT"), S("AAA"))
        if m.family in ("se01-count", "se02-mismatch", "missing-trailer", "duplicate-st02", "unknown-segment")
    ]


# fmt: on


_SPECS: dict[str, Callable[[], list[tuple[tuple[str, ...], Mut]]]] = {
    "837P": _specs_837p,
    "837I": _specs_837i,
    "835": _specs_835,
    "277CA": _specs_277ca,
    "270": _specs_270,
    "271": _specs_271,
}


def build(base: str, mut: Mut) -> bytes:
    doc = Doc.parse(base_bytes(base))
    for op in mut.ops:
        op(doc)
    if mut.fix:
        fix_counts(doc)
    return doc.serialize()


@functools.cache
def _variants() -> tuple[Variant, ...]:
    out = []
    for kind, specs in _SPECS.items():
        for bases, mut in specs():
            for base in bases:
                assert base.startswith(kind + "/"), (base, mut.slug)
                out.append(
                    Variant(
                        name=f"{base}/{mut.slug}",
                        base=base,
                        transaction=kind,
                        data=build(base, mut),
                        mutation=f"{mut.family}: {mut.desc}",
                    )
                )
    return tuple(out)


def variants() -> list[Variant]:
    """Every broken variant, in a stable order."""
    return list(_variants())


def samples() -> list[Variant]:
    """The unmodified samples, plus the repaired bases (named `<base>/repaired`)."""
    out = []
    for base in BASES:
        kind = base.split("/", 1)[0]
        out.append(Variant(base, base, kind, original_bytes(base), "none: unmodified sample"))
        if base in REPAIRS:
            what = "; ".join(dict.fromkeys(d for d, _ in REPAIRS[base]))
            out.append(Variant(f"{base}/repaired", base, kind, base_bytes(base), f"repaired: {what}"))
    return out
