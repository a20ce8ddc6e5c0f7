"""A response document's bytes are made by orjson (`edi.pipeline.notices._dumps`): they must be
exactly what ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` wrote before, since
a submitter may have stored or signed them, and a replay must send what the first attempt sent."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from edi.pipeline.notices import _dumps, _loads
from tests.response_golden import inputs, kind_of, outputs_of


def _reference(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _body(response: Any) -> dict[str, Any]:
    return {"type": "claim.payment", "timestamp": "2026-12-04T03:21:39.123456+00:00",
            "data": {"transactionId": "t1", "kind": "claim", "documentType": "835", "status": "paid",
                     "final": True, "patientControlNumber": "PCN-1", "response": response}}


@pytest.mark.parametrize("path", inputs(), ids=[p.stem for p in inputs()])
def test_every_golden_part_serialises_as_json_dumps_did(path: Path) -> None:
    parts = outputs_of(path.read_bytes(), kind_of(path), shared=True)["parts"]
    assert parts
    for part in parts:
        body = _body(part["document"])
        assert _dumps(body) == _reference(body)


@pytest.mark.parametrize("text", [
    "SMITH\u00e9 \u00d1O\u00d1O",  # Latin-1 letters stay as UTF-8, not \\u escapes
    "tab\there, line\nbreak, cr\r, bell\x07, nul\x00, esc\x1b, del\x7f",  # control characters
    "quote \" backslash \\ slash / \b \f",
    "\u2028\u2029 \U0001f600 \ufeff",  # separators JavaScript minds, astral plane, BOM
    "",
])
def test_awkward_text_serialises_as_json_dumps_did(text: str) -> None:
    body = _body({"name": text, "list": [text, 0, -1, 2**63 - 1, None, False], text or "k": {"x": text}})
    assert _dumps(body) == _reference(body)


def test_what_orjson_refuses_takes_the_old_path() -> None:
    body = _body({"big": 2**70, "nested": {1: "integer key"}})  # orjson refuses both
    assert _dumps(body) == _reference(body)
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate (bytes X12 read with surrogateescape)
        _dumps(_body({"name": "bad \udcff byte"}))


def test_documents_read_back_as_json_loads_reads_them() -> None:
    for path in inputs():
        for part in outputs_of(path.read_bytes(), kind_of(path), shared=True)["parts"]:
            raw = _dumps(_body(part["document"]))
            assert _loads(raw) == json.loads(raw)
    # what orjson refuses and json reads still reads, as json reads it
    assert _loads(b'{"a":"\\ud800 \\u00e9"}') == json.loads(b'{"a":"\\ud800 \\u00e9"}')
    assert math.isnan(_loads(b'{"a":NaN}')["a"])
    with pytest.raises(ValueError):
        _loads(b"not json")
