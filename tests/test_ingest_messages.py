"""The broker doors' first cut (``messages.sniff``) and the answer documents every door gives."""

from __future__ import annotations

import json

import pytest

from connectors.ingest.door import IntakeReceipt, ItemError
from connectors.ingest.messages import (
    CSV,
    JSON,
    X12,
    Undecodable,
    reasons_text,
    sniff,
)
from connectors.ingest.receipts import answer_document, answer_name, refusal_document


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
    assert json.loads(answer_document("m1", partial, submission_id="q/m1")) == {
        "type": "receipt", "name": "m1", "submissionId": "q/m1", "status": "partial", "accepted": ["t1"],
        "rejected": [{"item": "ST 0002", "field": "NM103", "column": False, "reason": "missing NM1",
                      "transactionId": None, "text": "ST 0002, field NM103: missing NM1"}]}
    whole = IntakeReceipt(rejected=[ItemError("file", "x", transaction_id="t9")])
    assert json.loads(answer_document("m2", whole)) | {"rejected": []} == {
        "type": "error", "name": "m2", "submissionId": None, "status": "rejected", "accepted": [], "rejected": []}
    assert json.loads(refusal_document("m3", [ItemError("message", "body is empty")])) == {
        "type": "error", "name": "m3", "submissionId": None, "status": "rejected", "accepted": [],
        "rejected": [{"item": "message", "field": None, "column": False, "reason": "body is empty",
                      "transactionId": None, "text": "message: body is empty"}]}
    assert answer_name("a.csv", partial) == "a.csv.error.json"
    assert answer_name("a.csv", IntakeReceipt(accepted=["t1"])) == "a.csv.receipt.json"
    assert reasons_text([ItemError("line 2", "a"), ItemError("line 3", "b")]) == "line 2: a; line 3: b"
    long = reasons_text([ItemError(f"line {n}", "bad date") for n in range(200)])
    assert len(long) == 500 and long.endswith("...")
