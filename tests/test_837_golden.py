"""The 837P and 837I the claim writers make are byte for byte the golden files recorded before the
writers were made faster (`tests/claims_golden.py` says how they are made): the bytes a partner is
sent for the same claims must not change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.claims_golden import inputs, written

CASES = inputs()


def test_golden_cases_cover_both_claim_types_batches_and_refusals() -> None:
    kinds = {json.loads(p.read_text(encoding="utf-8"))["kind"] for p in CASES}
    assert kinds == {"professional", "institutional"}
    assert {"p-batch", "p-refused", "p-delimiters", "p-full", "i-full"} <= {p.stem for p in CASES}
    assert all(p.with_suffix(".x12").exists() for p in CASES)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_written_837_is_unchanged(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert written(case).encode("utf-8") == path.with_suffix(".x12").read_bytes()
