"""The X12 writer (edi.x12.writer) and the generic lossless JSON (edi.x12.generic_json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edi.x12.delimiters import Delimiters
from edi.x12.generic_json import FORMAT, from_json, from_json_bytes, to_json, to_json_text
from edi.x12.reader import X12Reader
from edi.x12.validator import validate
from edi.x12.writer import (
    FunctionalGroup,
    InterchangeHeader,
    TransactionSet,
    format_segment,
    format_trimmed,
    trim,
    write_interchange,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
SAMPLES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file() and not p.name.startswith("LICENSE"))
EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"
NOW = datetime(2024, 3, 15, 9, 30)


def walk(content: list):  # noqa: ANN201
    for item in content:
        if "loop" in item:
            yield from walk(item["content"])
        else:
            yield item


def example1_body() -> list[list]:
    """The body segments (BHT .. last DTP) of demo.example1, taken from the generic JSON."""
    doc = to_json(EXAMPLE1)
    (tx,) = doc["interchanges"][0]["groups"][0]["transactions"]
    return [[seg["id"], *seg["elements"]] for seg in walk(tx["body"])]


def header(**kw) -> InterchangeHeader:
    base = dict(sender_qualifier="ZZ", sender_id="SUBMITTER", receiver_qualifier="ZZ", receiver_id="PAYER",
                control_number=123, usage="T")
    base.update(kw)
    return InterchangeHeader(**base)


def group(transactions: list[TransactionSet], control_number: int | str = 45) -> FunctionalGroup:
    return FunctionalGroup("HC", "SUBMITTER", "PAYER", control_number, "005010X222A1", transactions)


# ------------------------------------------------------------------ writer


def test_writer_counts_trailers_and_uses_the_numbers_handed_in() -> None:
    body = example1_body()
    txs = [TransactionSet("837", 7, body), TransactionSet("837", "ABC123", body[:10])]
    text = write_interchange(header(), [group(txs)], now=NOW)
    segments = list(X12Reader(text.encode()))
    ids = [s[0] for s in segments]
    assert ids.count("ST") == 2 and ids.count("SE") == 2
    st = [s for s in segments if s[0] in ("ST", "SE")]
    assert st == [
        ["ST", "837", "0007", "005010X222A1"],
        ["SE", str(len(body) + 2), "0007"],
        ["ST", "837", "ABC123", "005010X222A1"],
        ["SE", "12", "ABC123"],
    ]
    assert segments[1] == ["GS", "HC", "SUBMITTER", "PAYER", "20240315", "0930", "45", "X", "005010X222A1"]
    assert segments[-2:] == [["GE", "2", "45"], ["IEA", "1", "000000123"]]
    assert segments[0][13] == "000000123"


def test_isa_fields_are_fixed_width() -> None:
    text = write_interchange(header(sender_id="ABC", receiver_id="X" * 20), [], now=NOW)
    isa_line = text.split("\n")[0]
    assert len(isa_line) == 106  # 105 characters + terminator
    isa = isa_line[:-1].split("*")
    assert [len(e) for e in isa[1:]] == [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]
    assert isa[6] == "ABC" + " " * 12 and isa[8] == "X" * 15
    assert isa[9:] == ["240315", "0930", "^", "00501", "000000123", "0", "T", ":"]
    assert text.endswith("IEA*0*000000123~\n")


def test_writer_trims_trailing_empty_elements_and_components() -> None:
    d = Delimiters()
    assert trim(["NM1", "87", "2", "", "", ""]) == ["NM1", "87", "2"]
    assert trim(["CLM", "1", ["11", "B", ""], ""]) == ["CLM", "1", ["11", "B"]]
    assert trim(["X", "1", ["", ""]]) == ["X", "1"]
    assert trim(["REF", "", "2"]) == ["REF", "", "2"]  # inner empties stay
    text = write_interchange(
        header(), [group([TransactionSet("837", 1, [["NM1", "87", "2", "", ""], ["CLM", "1", ["11", "B", ""], ""]])])],
        now=NOW,
    )
    assert "NM1*87*2~\n" in text and "CLM*1*11:B~\n" in text
    assert format_segment(["EB", "1", "", [["1"], ["33", "X"]]], d) == "EB*1**1^33:X~\n"


_SEGMENTS = [
    ("NM1", "87", "2", "", "", ""), ["NM1", "87", "2", "", ""], ("REF", "", "2"), ("X",), ("X", ""), ("X", "", ""),
    ("CLM", "1", ("11", "B", ""), ""), ["CLM", "1", ["11", "B", ""], ["", ""]], ("X", "1", ["", ""]),
    ("X", "a", None), ("X", None, "b"), ("X", "a", []), ("X", "a", ()), ("X", [["1"], ["33", "X"]], ""),
    ("EB", "1", "", [["1"], ["33", "X"]]), ("X", ["", "2"], "", None, ""), ("HL", "1", "", "20", "1"),
]


@pytest.mark.parametrize("segment", _SEGMENTS, ids=str)
def test_one_pass_trimming_is_trim_then_format(segment: Sequence[Any]) -> None:
    """Segments come as tuples (``edi.mappers``) or lists, of plain strings or with composites,
    repetitions and ``None``: the one-pass writer gives what trimming a copy, then formatting it, gives."""
    for d in (Delimiters(), Delimiters("|", ">", "!", "\x1c", "")):
        assert format_trimmed(segment, d) == format_segment(trim(segment), d)


def test_transaction_set_bodies_are_written_as_each_segment_alone() -> None:
    d = Delimiters("|", ">", "!", "\x1c", "")
    text = write_interchange(header(), [group([TransactionSet("837", 1, list(_SEGMENTS)), TransactionSet("837", 2, [])])],
                             d, now=NOW)
    body = "".join(format_segment(trim(segment), d) for segment in _SEGMENTS)
    assert f"ST|837|0001|005010X222A1\x1c{body}SE|{len(_SEGMENTS) + 2}|0001\x1c" in text
    assert "ST|837|0002|005010X222A1\x1cSE|2|0002\x1c" in text  # an empty body adds nothing


@pytest.mark.parametrize(
    "d", [Delimiters(), Delimiters("|", ">", "!", "\x1c", ""), Delimiters("*", ":", "^", "~", "\r\n")],
    ids=["default", "pipes", "crlf"],
)
def test_written_837p_validates_with_zero_findings(d: Delimiters) -> None:
    text = write_interchange(header(ack_requested="1"), [group([TransactionSet("837", 1, example1_body())])], d, NOW)
    report = validate(text.encode())
    assert list(report.all_findings()) == []
    assert report.accepted
    assert report.interchanges[0].delimiters == d.to_dict()


# ------------------------------------------------------------------ generic JSON


def _normalise(data: bytes) -> bytes:
    """Bytes without the optional line breaks after segment terminators."""
    return data.replace(b"~\r\n", b"~").replace(b"~\n", b"~").rstrip(b"\r\n")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_generic_json_round_trips_every_sample(sample: Path) -> None:
    raw = sample.read_bytes()
    text = to_json_text(sample)
    doc = json.loads(text)
    assert doc["format"] == FORMAT
    assert _normalise(from_json_bytes(text)) == _normalise(raw)
    # with the line breaks the sample used, the bytes are identical (up to a final line break)
    assert from_json_bytes(text) == (raw if raw.endswith(b"\n") else raw + b"\n")
    # without line breaks, exactly the bytes without line breaks
    flat = raw.replace(b"~\n", b"~")
    assert from_json(to_json(flat)).encode() == flat


def _tree(content: list) -> list:
    """Loop ids only, nested."""
    return [(item["loop"], _tree(item["content"])) for item in content if "loop" in item]


def _paths(tree: list, prefix: tuple = ()) -> set[tuple]:
    out = set()
    for loop, children in tree:
        out.add((*prefix, loop))
        out |= _paths(children, (*prefix, loop))
    return out


def test_837p_tree_names_guide_loops() -> None:
    (tx,) = to_json(EXAMPLE1)["interchanges"][0]["groups"][0]["transactions"]
    tree = _tree(tx["body"])
    assert [loop for loop, _ in tree] == ["1000A", "1000B", "2000A"]
    paths = _paths(tree)
    assert ("2000A", "2010AA") in paths
    assert ("2000A", "2010AB") in paths
    assert ("2000A", "2000B", "2010BA") in paths
    assert ("2000A", "2000B", "2010BB") in paths
    assert ("2000A", "2000B", "2000C", "2010CA") in paths
    assert ("2000A", "2000B", "2000C", "2300", "2400") in paths
    claim = [c for loop, c in tree[2][1][2][1][2][1] if loop == "2300"]
    assert [loop for loop, _ in claim[0]] == ["2400"] * 4
    assert tx["guide"] == "837.5010.X222.A1.xml"
    assert tx["body"][0] == {"id": "BHT", "elements": ["0019", "00", "244579", "20061015", "1023", "CH"]}
    first_loop = tx["body"][1]
    assert first_loop["loop"] == "1000A" and first_loop["content"][0]["id"] == "NM1"


def test_270_tree_names_guide_loops() -> None:
    doc = to_json(FIXTURES / "270_005010X279A1" / "subscriber-health-benefit-check.270")
    (tx,) = doc["interchanges"][0]["groups"][0]["transactions"]
    assert _tree(tx["body"]) == [
        ("2000A", [("2100A", []), ("2000B", [("2100B", []), ("2000C", [("2100C", [("2110C", [])])])])])
    ]


def test_composites_are_lists_and_repetitions_lists_of_lists() -> None:
    segs = {s["id"]: s for s in walk(to_json(EXAMPLE1)["interchanges"][0]["groups"][0]["transactions"][0]["body"])}
    assert segs["CLM"]["elements"][4] == ["11", "B", "1"]
    assert segs["HI"]["elements"] == [["BK", "0340"], ["BF", "V7389"]]
    doc = to_json(FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271")
    ebs = [s for s in walk(doc["interchanges"][0]["groups"][0]["transactions"][0]["body"]) if s["id"] == "EB"]
    assert ebs[0]["elements"] == ["1", "", "30", "", "GOLD 123 PLAN"]
    assert ebs[2]["elements"][2] == [["1"], ["33"], ["35"], ["47"], ["86"], ["88"], ["98"], ["AL"], ["MH"], ["UC"]]


def test_envelopes_and_delimiters_are_kept() -> None:
    (isa,) = to_json(EXAMPLE1)["interchanges"]
    assert isa["delimiters"] == {"element": "*", "component": ":", "repetition": "^", "segment": "~",
                                 "line_break": "\n"}
    assert isa["ISA"][12] == "000000907" and isa["ISA"][15] == ":"
    assert isa["trailer"] == ["1", "000000907"]
    (g,) = isa["groups"]
    assert g["GS"][7] == "005010X222A2" and g["trailer"] == ["1", "1"]
    assert g["transactions"][0]["ST"] == ["837", "0021", "005010X222A2"]
    assert g["transactions"][0]["trailer"] == ["40", "0021"]


def test_invalid_bytes_round_trip_through_json() -> None:
    raw = EXAMPLE1.read_bytes().replace(b"NM1*QC*1*SMITH*TED~", b"NM1*QC*1*SM\xffTH*T\xc3\xa9D~")
    text = to_json_text(raw)
    json.loads(text)  # valid JSON (the lone surrogate is escaped)
    assert "\\udcff" in text
    assert from_json_bytes(text) == raw + b"\n"
    assert from_json_bytes(text.encode()) == raw + b"\n"


def test_two_interchanges_with_different_delimiters_round_trip() -> None:
    other = EXAMPLE1.read_text().translate({ord("*"): "|", ord(":"): ">", ord("^"): "!", ord("\n"): None})
    raw = EXAMPLE1.read_bytes() + b"\n" + other.replace("~", "\x1c").encode()
    doc = to_json(raw)
    assert [i["delimiters"]["element"] for i in doc["interchanges"]] == ["*", "|"]
    assert [i["delimiters"]["segment"] for i in doc["interchanges"]] == ["~", "\x1c"]
    assert from_json(doc).encode() == raw


def test_from_json_rejects_other_documents() -> None:
    with pytest.raises(ValueError):
        from_json({"format": "something-else", "interchanges": []})


# The generic JSON claims to be lossless; segments outside a transaction set lose their place.
# BUG (edi/x12/generic_json.py): to_json keeps a segment found after GE (or between SE and the next
# ST) in an "stray" list of the interchange (or group), and iter_segments_from_json writes the
# interchange's strays right after the ISA and a group's strays after all of its transaction sets.
# Proposed fix: record where each stray segment was (e.g. an "after" list on the transaction set /
# group it follows, or keep strays as ordered items of the groups/transactions lists) and emit
# them in that place.


def test_segment_between_ge_and_iea_keeps_its_place() -> None:
    raw = EXAMPLE1.read_bytes().replace(b"GE*1*1~\n", b"GE*1*1~\nZZ*1~\n")
    assert from_json(to_json(raw)).encode() == raw + b"\n"


def test_segment_between_two_transaction_sets_keeps_its_place() -> None:
    text = EXAMPLE1.read_text()
    st = text.index("ST*837*")
    ge = text.index("GE*1*1~")
    second = text[st:ge].replace("0021", "0022")
    raw = (text[:ge] + "ZZ*2~\n" + second + text[ge:].replace("GE*1*1", "GE*2*1")).encode()
    assert from_json(to_json(raw)).encode() == raw + b"\n"
