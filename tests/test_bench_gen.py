"""Tests for the benchmark's 837P generator (benchmarks/gen_837p.py)."""

from __future__ import annotations

import io
import itertools
import sys
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

# `benchmarks/` is not an installed package: make it importable under plain `pytest` too
# (`python -m pytest` already has the repo root on sys.path).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from benchmarks.gen_837p import (  # noqa: E402
    CHUNK_BYTES,
    generate_837p,
    make_npi,
    npi_check_digit,
    write_837p,
)

N = 20
LAYOUTS = {"per-claim": 1, "shared": 10_000}


def _text(n_claims: int, per_st: int, seed: int = 0) -> str:
    return b"".join(generate_837p(n_claims, per_st, seed)).decode("ascii")


def _segments(text: str) -> list[list[str]]:
    assert text.endswith("~\n")
    return [seg.split("*") for seg in text[: -len("~\n")].split("~\n")]


def _luhn_ok(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


@pytest.fixture(scope="module", params=list(LAYOUTS))
def layout(request) -> tuple[str, int, str]:
    name = request.param
    per_st = LAYOUTS[name]
    return name, per_st, _text(N, per_st)


def test_pyx12_accepts_with_zero_errors(layout, tmp_path):
    import pyx12.params
    import pyx12.x12n_document

    name, _, text = layout
    src = tmp_path / f"{name}.837"
    src.write_text(text)
    fd_999 = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(src), fd_999, None, map_path=None)
    ack = fd_999.getvalue().replace("\n", "")
    segs = [s.split("*") for s in ack.split("~") if s]
    assert ok is True, ack
    assert not [s for s in segs if s[0] in ("IK3", "IK4", "CTX")], ack
    assert all(s[1] == "A" for s in segs if s[0] == "IK5"), ack
    n_st = N if name == "per-claim" else 1
    assert ["AK9", "A", str(n_st), str(n_st), str(n_st)] in segs, ack


def test_envelope_counts_and_control_numbers(layout):
    name, per_st, text = layout
    segs = _segments(text)
    ids = [s[0] for s in segs]
    isa, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
    assert len("*".join(isa)) == 105  # 106 with the terminator
    assert isa[11] == "^" and isa[16] == ":" and isa[12] == "00501"
    assert gs[0] == "GS" and gs[1] == "HC" and gs[8] == "005010X222A1"
    assert ids.count("ISA") == ids.count("IEA") == 1 and ids.count("GS") == ids.count("GE") == 1
    assert iea == ["IEA", "1", isa[13]]
    n_st = ids.count("ST")
    assert n_st == (N if per_st == 1 else 1)
    assert ge == ["GE", str(n_st), gs[6]]
    assert ids.count("CLM") == N

    st_controls = []
    i = 0
    while i < len(segs):
        if segs[i][0] == "ST":
            start = i
            while segs[i][0] != "SE":
                i += 1
            st, se = segs[start], segs[i]
            assert st[1] == "837" and st[3] == "005010X222A1"
            assert se == ["SE", str(i - start + 1), st[2]]
            assert 4 <= len(st[2]) <= 9
            st_controls.append(st[2])
            # HL ids restart at 1 and are sequential within a transaction set
            hls = [s for s in segs[start:i] if s[0] == "HL"]
            assert [h[1] for h in hls] == [str(k) for k in range(1, len(hls) + 1)]
        i += 1
    assert len(set(st_controls)) == n_st


def test_claims_balance_and_follow_ig(layout):
    _, _, text = layout
    segs = _segments(text)
    claims: list[tuple[list[str], list[Decimal]]] = []
    pcns = set()
    for seg in segs:
        tag = seg[0]
        if tag == "CLM":
            claims.append((seg, []))
            pcns.add(seg[1])
            assert seg[5] == "11:B:1"
            assert seg[6:10] == ["Y", "A", "Y", "Y"]
        elif tag == "SV1":
            claims[-1][1].append(Decimal(seg[2]))
            assert seg[1].startswith("HC:") and seg[3] == "UN"
        elif tag == "HI":
            assert seg[1].startswith("ABK:") and all(e.startswith("ABF:") for e in seg[2:]) and len(seg) >= 3
        elif tag == "NM1" and seg[1] == "85":
            assert seg[8] == "XX" and _luhn_ok(seg[9])
        elif tag == "N4":
            assert len(seg[3]) in (5, 9) and seg[3].isdigit()
        elif tag == "SBR":
            assert seg[1:3] == ["P", "18"]
        elif tag == "DTP":
            assert seg[1:3] == ["472", "D8"]
    assert len(claims) == N
    assert len(pcns) == N  # patient control numbers vary
    for clm, lines in claims:
        assert 1 <= len(lines) <= 4
        assert Decimal(clm[2]) == sum(lines)

    # Billing provider: 9-digit ZIP and an EIN right after the 2010AA address.
    joined = [("*".join(s)) for s in segs]
    for k, s in enumerate(segs):
        if s[0] == "NM1" and s[1] == "85":
            assert segs[k + 2][0] == "N4" and len(segs[k + 2][3]) == 9
            assert segs[k + 3][0] == "REF" and segs[k + 3][1] == "EI" and len(segs[k + 3][2]) == 9
    # Subscribers vary
    names = {(s[3], s[4]) for s in segs if s[0] == "NM1" and s[1] == "IL"}
    assert len(names) > N // 2
    assert sum(1 for j in joined if j.startswith("DMG*D8*")) == N


def test_deterministic_for_seed(tmp_path):
    for per_st in LAYOUTS.values():
        a = _text(50, per_st, seed=7)
        assert a == _text(50, per_st, seed=7)
        assert a != _text(50, per_st, seed=8)
        path = write_837p(tmp_path / f"{per_st}.837", 50, per_st, seed=7)
        assert path.read_bytes() == a.encode("ascii")


def test_streams_in_bounded_chunks():
    gen = generate_837p(100_000, 100_000)
    assert isinstance(gen, types.GeneratorType) and isinstance(gen, Iterator)
    # Pulling the first chunks of a 100,000-claim file only builds those chunks.
    first = list(itertools.islice(gen, 3))
    assert len(first) == 3
    assert all(CHUNK_BYTES <= len(c) < CHUNK_BYTES + 4096 for c in first)
    gen.close()

    chunks = list(generate_837p(2_000, 1))
    assert len(chunks) > 10
    assert all(len(c) < CHUNK_BYTES + 4096 for c in chunks)


def test_npi_check_digit():
    # CMS's published example NPI.
    assert npi_check_digit("123456789") == "3"
    import random

    rng = random.Random(1)
    for _ in range(100):
        npi = make_npi(rng)
        assert npi[0] in "12" and _luhn_ok(npi)
    with pytest.raises(ValueError):
        npi_check_digit("12345")


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        next(generate_837p(0, 1))
    with pytest.raises(ValueError):
        next(generate_837p(10, 0))
