"""Decoding submissions (edi.ingest): every accepted format, and every way a file can be wrong,
with the problem in the submitter's terms and no value from the file in any message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edi.checks import validate_request
from edi.ingest import DecodeError, Limits, MappingError, decode, load_mapping, load_mappings

ROOT = Path(__file__).resolve().parent
INGEST = ROOT / "fixtures" / "ingest"
X12 = ROOT / "fixtures" / "x12"
SAMPLE = ROOT.parent / "connectors" / "payer_sim" / "sample"
ELIGIBILITY = json.loads((SAMPLE / "eligibility.json").read_text())
CLAIM = json.loads((SAMPLE / "claim.json").read_text())
ROSTER = load_mapping(INGEST / "roster-csv.yaml")
CLAIM_LINES = load_mapping(INGEST / "claim-lines.yaml")
FIXED = load_mapping(INGEST / "roster-fixed.yaml")


def refused(content: bytes, name: str = "f", **kw) -> list[str]:
    with pytest.raises(DecodeError) as caught:
        list(decode(content, name=name, **kw).items)
    return [str(p) for p in caught.value.problems]


def items(content: bytes, name: str = "f", **kw):
    return list(decode(content, name=name, **kw).items)


# -- formats ----------------------------------------------------------------------------------


def test_one_json_request_an_array_and_json_lines() -> None:
    one = items(json.dumps(ELIGIBILITY).encode())
    assert [(i.label, i.kind, i.ok) for i in one] == [("request", "eligibility", True)]
    many = items(json.dumps([ELIGIBILITY, CLAIM]).encode())
    assert [(i.label, i.kind) for i in many] == [("record 1", "eligibility"), ("record 2", "professional")]
    lines = (json.dumps(ELIGIBILITY) + "\n\n" + json.dumps(CLAIM) + "\n").encode()
    decoded = decode(lines, name="batch.json")
    assert decoded.format == "jsonl"
    assert [(i.label, i.kind) for i in decoded.items] == [("line 1", "eligibility"), ("line 3", "professional")]
    assert decode(b"\xef\xbb\xbf" + json.dumps(ELIGIBILITY).encode()).format == "json"  # BOM


def test_pretty_printed_json_is_one_document_not_lines() -> None:
    decoded = decode(json.dumps(CLAIM, indent=2).encode(), name="claim.json")
    assert decoded.format == "json"
    assert [i.kind for i in decoded.items] == ["professional"]


def test_a_bad_json_line_is_that_items_problem_only() -> None:
    content = (json.dumps(ELIGIBILITY) + "\n" + '{"subscriber": {"memberId": "X"\n' + '["no"]\n').encode()
    got = items(content, name="b.jsonl")
    assert got[0].ok
    assert str(got[1].problems[0]).startswith("line 2: the JSON ends early")
    assert str(got[2].problems[0]) == "line 3: not a JSON object"


def test_x12_270_gives_one_request_per_subscriber() -> None:
    content = (X12 / "270_005010X279A1" / "subscriber-health-benefit-check.270").read_bytes()
    decoded = decode(content, name="in.270")
    assert decoded.format == "x12"
    got = list(decoded.items)
    assert [(i.label, i.kind) for i in got] == [("subscriber 1", "eligibility")]
    assert validate_request("eligibility", got[0].data)[1] == []


def test_x12_837p_and_837i_give_one_request_per_claim() -> None:
    p = items((X12 / "837_005010X222A2" / "demo.example1.837").read_bytes())
    assert [i.kind for i in p] == ["professional"] and validate_request("professional", p[0].data)[1] == []
    i = items((X12 / "837_005010X223A3" / "two-claims-single-provider.837i").read_bytes())
    assert [(x.label, x.kind) for x in i] == [("claim 1", "institutional"), ("claim 2", "institutional")]


def test_csv_roster_through_its_mapping() -> None:
    got = items((INGEST / "roster.csv").read_bytes(), name="roster.csv", mappings=[ROSTER])
    assert [i.label for i in got] == ["line 2", "line 3", "line 4"]
    first = got[0].data
    assert first["subscriber"] == {"memberId": "SIM00001", "firstName": "PAT", "lastName": "DOE",
                                   "dateOfBirth": "19800115", "gender": "F"}
    assert first["controlNumber"] == "000000001" and got[2].data["controlNumber"] == "000000003"
    assert first["encounter"] == {"dateOfService": "20240501", "serviceTypeCodes": ["30"]}
    assert all(validate_request("eligibility", i.data)[1] == [] for i in got)


def test_claim_lines_are_grouped_by_the_key_column_and_totalled() -> None:
    got = items((INGEST / "claims-2024-05.csv").read_bytes(), name="claims-2024-05.csv", mappings=[CLAIM_LINES])
    assert [i.label for i in got] == ["lines 2-3", "line 4"]
    first, second = (i.data["claimInformation"] for i in got)
    assert [line["professionalService"]["lineItemChargeAmount"] for line in first["serviceLines"]] == ["100.00", "50.00"]
    assert [line["assignedNumber"] for line in first["serviceLines"]] == ["1", "2"]
    assert first["serviceLines"][1]["professionalService"]["serviceUnitCount"] == "1"  # default
    assert first["claimChargeAmount"] == "150.00" and second["claimChargeAmount"] == "1200.50"
    # an empty DX2 leaves no half-filled diagnosis; a filled one brings its qualifier
    assert first["healthCareCodeInformation"] == [{"diagnosisTypeCode": "ABK", "diagnosisCode": "J0300"}]
    assert second["healthCareCodeInformation"][1] == {"diagnosisTypeCode": "ABF", "diagnosisCode": "I10"}
    assert all(validate_request("professional", i.data)[1] == [] for i in got)


def test_check_problems_of_a_claim_line_point_at_its_row_and_column() -> None:
    text = (INGEST / "claims-2024-05.csv").read_text().replace(",87070,", ",8707,")
    item = items(text.encode(), name="claims-x.csv", mappings=[CLAIM_LINES])[0]
    problems = validate_request("professional", item.data)[1]
    located = [item.locate(p.path, p.message) for p in problems]
    assert any(p.item == "line 3" and p.field == "CPT" and p.column for p in located), located


def test_fixed_width_roster() -> None:
    got = items((INGEST / "roster.txt").read_bytes(), name="roster.txt", mappings=[FIXED])
    assert [i.label for i in got] == ["line 2", "line 3"]
    assert got[1].data["subscriber"] == {"memberId": "SIM00002", "firstName": "JO", "lastName": "ROE",
                                         "dateOfBirth": "19750322"}
    assert all(validate_request("eligibility", i.data)[1] == [] for i in got)


def test_the_mapping_is_chosen_by_file_name() -> None:
    decoded = decode((INGEST / "roster.txt").read_bytes(), name="roster.txt", mappings=[ROSTER, FIXED])
    assert decoded.format == "fixed" and decoded.mapping is FIXED


# -- bad rows ---------------------------------------------------------------------------------


def test_row_problems_name_line_and_column_never_the_value() -> None:
    content = (b"MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,SEX,SERVICE_DATE\n"
               b"SECRET01,PAT,DOE,13/45/1980,Female,2024-05-01\n"
               b"SECRET02,JO,ROE,01/02/1980,Unknown,2024-05-01\n"
               b",AL,POE,01/02/1980,M,2024-05-01\n"
               b"SECRET04,AL,POE\n")
    got = items(content, name="r.csv", mappings=[ROSTER])
    messages = [str(p) for i in got for p in i.problems]
    assert messages == [
        "line 2, column DOB: not a date in MM/DD/YYYY (subscriber.dateOfBirth)",
        "line 3, column SEX: not one of the mapped codes (F, Female, M, Male) (subscriber.gender)",
        "line 4, column MEMBER_ID: required value is blank (subscriber.memberId)",
        "line 5: 3 cells where the header has 6",
    ]
    assert not any(secret in " ".join(messages) for secret in ("SECRET", "13/45", "Unknown", "DOE"))


def test_claim_rows_must_be_adjacent() -> None:
    lines = (INGEST / "claims-2024-05.csv").read_text().splitlines()
    content = "\n".join([lines[0], lines[1], lines[3], lines[2]]).encode()
    got = items(content, name="claims-y.csv", mappings=[CLAIM_LINES])
    assert [i.label for i in got] == ["line 2", "line 3", "line 4"]
    assert "not adjacent" in str(got[2].problems[0]) and got[2].problems[0].field == "CLAIM_ID"


# -- whole-file refusals ----------------------------------------------------------------------


def test_a_csv_header_without_a_mapped_column_is_refused_before_any_row() -> None:
    content = b"MEMBER_ID,FIRST_NAME,LAST_NAME,SEX,SERVICE_DATE\nSIM1,A,B,M,2024-05-01\n"
    assert refused(content, name="r.csv", mappings=[ROSTER]) == [
        "line 1 (header), column DOB: the mapped column is missing from the header"]


def test_empty_blank_and_binary_files() -> None:
    assert refused(b"") == ["file: the file is empty"]
    assert refused(b"\xef\xbb\xbf \r\n\t\n") == ["file: the file is empty (only blank space)"]
    assert refused(bytes(range(256)) * 8) == [
        "line 1: binary data (a NUL byte), not text: send UTF-8 text (JSON, X12, CSV or fixed-width)"]
    assert refused(b"\x93\xa7\xfe\x81\x02\x03\x04\x05\x06\x08\x0e\x0f" * 50) == [
        "file: binary data, not text: send UTF-8 text (JSON, X12, CSV or fixed-width)"]
    assert refused(b"PK\x03\x04rest-of-zip") == [
        "file: the file is a ZIP archive, not UTF-8 text; send the content itself as UTF-8 text"]
    assert refused("{}".encode("utf-16")) == ["file: the file is UTF-16 text, not UTF-8 text; re-encode it as UTF-8"]


def test_latin1_says_which_line_is_not_utf8() -> None:
    content = "MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,SEX,SERVICE_DATE\nSIM1,JOSÉ,DOE,01/02/1980,M,2024-05-01\n"
    (message,) = refused(content.encode("latin-1"), name="r.csv", mappings=[ROSTER])
    assert message.startswith("line 2: byte 9 of the line is not valid UTF-8; the file must be UTF-8")
    # the same text in UTF-8, with a BOM, is fine
    assert [i.ok for i in items(b"\xef\xbb\xbf" + content.encode(), name="r.csv", mappings=[ROSTER])] == [True]


def test_truncated_json_and_x12() -> None:
    text = json.dumps([ELIGIBILITY, CLAIM], indent=1).encode()
    (message,) = refused(text[: len(text) // 2])
    assert "the JSON ends early" in message and "truncated" in message
    x12 = (X12 / "837_005010X222A2" / "demo.example1.837").read_bytes()
    (message,) = refused(x12[: len(x12) * 2 // 3])
    assert "without its SE and IEA: the file looks truncated" in message
    (message,) = refused(x12[: x12.rindex(b"IEA")])
    assert "without its IEA" in message


def test_x12_responses_and_unknown_text_are_refused_with_what_to_send() -> None:
    (message,) = refused((X12 / "835_005010X221A1" / sorted(p.name for p in (X12 / "835_005010X221A1").iterdir())[0])
                         .read_bytes())
    assert message == "file: transaction set 835 is a response, not a request; send 270, 837P or 837I"
    (message,) = refused(b"MEMBER,DOB\n1,2\n", name="r.csv")
    assert "no column mapping is configured" in message
    (message,) = refused(b"hello", name="x.837")
    assert "the name says X12" in message


def test_size_limit_is_checked_first() -> None:
    (message,) = refused(b"x" * 101, limits=Limits(max_bytes=100))
    assert message == "file: the file is 101 bytes, above the limit of 100 bytes; split it and send the parts"


def test_mapping_files_are_checked_when_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("kind: eligibility\nformat: fixed\nfields: {subscriber.memberId: MEMBER}\n")
    with pytest.raises(MappingError, match="format fixed needs fixed"):
        load_mapping(bad)
    bad.write_text("kind: professional\nformat: csv\nfields: {a: {column: X, value: Y}}\nline_fields: {b: C}\n")
    with pytest.raises(MappingError, match="exactly one of column, value or counter"):
        load_mapping(bad)


def test_a_long_roster_decodes_one_row_at_a_time() -> None:
    import tracemalloc

    from benchmarks.bench_ingest import roster

    content = roster(3_000, seed=1)
    tracemalloc.start()
    try:
        count = sum(1 for item in decode(content, name="r.csv", mappings=[ROSTER]).items if item.ok)
        streamed = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        held = len(list(decode(content, name="r.csv", mappings=[ROSTER]).items))
        holding = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == held == 3_000
    assert streamed * 10 < holding  # what all items would take; the input bytes are the caller's


def test_mappings_per_submitter_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "1-claims.yaml").write_text((INGEST / "claim-lines.yaml").read_text())
    (tmp_path / "acme" / "2-roster.yaml").write_text((INGEST / "roster-csv.yaml").read_text())
    found = load_mappings(tmp_path)
    assert [m.kind for m in found["acme"]] == ["professional", "eligibility"]
    assert decode((INGEST / "roster.csv").read_bytes(), name="roster.csv", mappings=found["acme"]).mapping.kind == (
        "eligibility")


def test_a_message_content_type_marks_json_lines() -> None:
    one_line = json.dumps(ELIGIBILITY).encode()
    assert decode(one_line, name="msg-1").format == "json"
    assert decode(one_line, name="msg-1", content_type="application/x-ndjson; charset=utf-8").format == "jsonl"
