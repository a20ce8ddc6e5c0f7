"""The JSON each submitter gets from a 999, 277CA or 835 is the same as the golden files recorded
before the responses stage was made faster (`tests/response_golden.py` says how they are made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.response_golden import KINDS, inputs, kind_of, normalised, outputs_of

CASES = inputs()


def test_every_kind_has_golden_files() -> None:
    assert sorted({kind_of(p) for p in CASES}) == sorted(KINDS)
    assert all(p.with_suffix(".json").exists() for p in CASES)


@pytest.mark.parametrize("shared", [False, True], ids=["copied", "shared"])
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_reports_and_parts_are_unchanged(path: Path, shared: bool) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    actual = normalised(outputs_of(path.read_bytes(), kind_of(path), shared=shared))
    assert actual["reports"] == expected["reports"]
    assert len(actual["parts"]) == len(expected["parts"])
    for got, want in zip(actual["parts"], expected["parts"], strict=True):
        assert got == want
        # the bytes a submitter gets, key order included
        assert json.dumps(got["document"]) == json.dumps(want["document"])
