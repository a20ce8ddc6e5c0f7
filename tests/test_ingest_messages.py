"""The broker doors' first cut (``messages.sniff``) and the JSON documents they answer with."""

from __future__ import annotations

import json

import pytest

from connectors.ingest.door import IntakeReceipt, ItemError
from connectors.ingest.messages import (
    CSV,
    JSON,
    X12,
    Undecodable,
    error_document,
    reasons_text,
    receipt_document,
    sniff,
)


@pytest.mark.parametrize(("body", "declared", "expected"), [
    (b'{"claims": []}', None, JSON),
    (b'\xef\xbb\xbf  [1, 2]', None, JSON),  # a BOM and leading blanks
    (b"ISA*00*          *00*~", None, X12),
    (b"\r\nISA*00*~", "text/plain", X12),
    (b"member_id,last_name\nM1,B\n", None, CSV),
    (b'"a";"b"\n', None, None),  # one column only: not CSV with a header row
])
def test_sniff_tells_the_formats_apart(body, declared, expected):
    if expected is None:
        with pytest.raises(Undecodable, match="neither JSON, X12"):
            sniff(body, declared)
    else:
        assert sniff(body, declared) == expected


@pytest.mark.parametrize(("body", "declared", "reason"), [
    (b"", None, "body is empty"),
    (b"  \n", None, "body is empty"),
    (b"\xff\xfe\x00", None, "not UTF-8 text (invalid byte at offset 0)"),
    (b"ISA\x00*", None, "NUL bytes"),
    (b'{"claims": [', None, "not valid JSON: Expecting value at line 1 column 13"),
    (b"member_id,last_name", "application/json", "not valid JSON"),  # declared JSON must be JSON
    (b"hello there", None, "neither JSON, X12"),
])
def test_sniff_reasons_say_what_is_wrong_without_quoting_the_content(body, declared, reason):
    with pytest.raises(Undecodable) as raised:
        sniff(body, declared)
    assert reason in raised.value.reason
    assert "member_id" not in raised.value.reason and "hello" not in raised.value.reason


def test_documents_and_reasons():
    partial = IntakeReceipt(accepted=["t1"], rejected=[ItemError("ST 0002", "missing NM1", field="NM103")])
    assert json.loads(receipt_document("m1", partial)) == {
        "type": "receipt", "message": "m1", "status": "partial", "accepted": ["t1"],
        "rejected": [{"item": "ST 0002", "reason": "missing NM1", "field": "NM103"}]}
    assert json.loads(receipt_document("m2", IntakeReceipt(rejected=[ItemError("file", "x")])))["status"] == "rejected"
    assert json.loads(error_document("m3", [ItemError("message", "body is empty")])) == {
        "type": "error", "message": "m3", "status": "rejected", "accepted": [],
        "rejected": [{"item": "message", "reason": "body is empty"}]}
    assert reasons_text([ItemError("line 2", "a"), ItemError("line 3", "b")]) == "line 2: a; line 3: b"
    long = reasons_text([ItemError(f"line {n}", "bad date") for n in range(200)])
    assert len(long) == 500 and long.endswith("...")
