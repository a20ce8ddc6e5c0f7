"""Agreement test: our validator (edi.x12) reaches pyx12's verdicts.

For every sample (837P, 837I, 835, 277CA; unmodified and repaired) and
every broken variant of ``tests/agreement/corpus.py``, the verdict of our
validator (``tests/agreement/ours.py``) must equal the verdict of pyx12's
999 (``tests/agreement/pyx12_oracle.py``): TA1 note code, AK901, and per
transaction set AK202, IK501 and every IK3/IK4.  Variants listed in
``tests/agreement/expected_differences.py`` are the exceptions where pyx12
is wrong or fails: there pyx12 must still differ (else the entry is stale)
and ours must equal the recorded correct answer.
"""

from __future__ import annotations

import os
import sys

import pytest

# `tests/` is not a package: make `tests.agreement` importable under plain
# `pytest` too (`python -m pytest` already has the repo root on sys.path).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.agreement.corpus import Variant, samples, variants  # noqa: E402
from tests.agreement.expected_differences import KNOWN_PYX12_DIFFERENCES, expected_verdict  # noqa: E402
from tests.agreement.ours import ours  # noqa: E402
from tests.agreement.pyx12_oracle import Pyx12Failure, Verdict, pyx12_verdict  # noqa: E402

CASES: list[Variant] = samples() + variants()


def _paste(case: Variant, verdict: Verdict) -> str:
    return f'    "{case.name}": (\n        "<one-line reason>",\n        "{verdict!r}",\n    ),'


def _explain(v: Verdict | Pyx12Failure) -> str:
    if isinstance(v, Pyx12Failure):
        return f"  pyx12 failed: {v.reason}"
    lines = [f"  ta1={v.ta1!r}"]
    for g in v.groups:
        lines.append(f"  AK9 {g.ak9}")
        for t in g.transactions:
            lines.append(f"    AK2 {t.control_number} IK5 {t.ik5}")
            lines.extend(f"      {e}" for e in t.errors)
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_agreement(case: Variant) -> None:
    theirs = pyx12_verdict(case.data)  # cached per input for the session
    mine = ours(case.data)
    assert isinstance(mine, Verdict), f"ours() returned {type(mine).__name__}, not a Verdict"
    if case.name in KNOWN_PYX12_DIFFERENCES:
        reason = KNOWN_PYX12_DIFFERENCES[case.name][0]
        expected = expected_verdict(case.name)
        assert theirs != expected, (
            f"stale entry in KNOWN_PYX12_DIFFERENCES: pyx12 now gives the recorded answer "
            f"for {case.name} ({reason}); remove the entry"
        )
        assert mine == expected, (
            f"{case.name} ({case.mutation}): ours differs from the recorded correct answer\n"
            f"ours:\n{_explain(mine)}\nrecorded:\n{_explain(expected)}"
        )
        return
    assert mine == theirs, (
        f"{case.name} ({case.mutation}): ours differs from pyx12\n"
        f"pyx12:\n{_explain(theirs)}\nours:\n{_explain(mine)}\n"
        f"If pyx12 is the one that is wrong, record it in tests/agreement/expected_differences.py:\n"
        f"{_paste(case, mine)}"
    )


def test_known_differences_name_real_cases() -> None:
    names = {c.name for c in CASES}
    unknown = sorted(set(KNOWN_PYX12_DIFFERENCES) - names)
    assert not unknown, f"KNOWN_PYX12_DIFFERENCES names no such sample/variant: {unknown}"


@pytest.mark.parametrize("name", sorted(KNOWN_PYX12_DIFFERENCES))
def test_known_difference_entry_is_well_formed(name: str) -> None:
    reason = KNOWN_PYX12_DIFFERENCES[name][0]
    assert reason.strip() and "\n" not in reason, f"{name}: the reason must be one non-empty line"
    expected_verdict(name)  # parses into a Verdict
