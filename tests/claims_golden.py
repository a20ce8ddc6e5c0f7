"""Golden files of the 837P and 837I the claim writers make.

The bytes a partner is sent for a batch must not change when the writers are made faster. The
inputs are request JSON files (the 837 samples of the test suite read into requests, the test
suite's fullest hand-built claims, and a batch like the benchmarks' with subscribers, dependents
and several submitters), so the golden outputs depend on nothing but the writers and the request
models. Regenerate (only when the 837 is meant to change) with::

    python -m tests.claims_golden
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "fixtures" / "golden_837"
X12 = HERE / "fixtures" / "x12"
NOW = datetime(2024, 6, 1, 9, 30)


def inputs() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if p.suffix == ".json")


def written(case: dict[str, Any]) -> str:
    """The interchange the writer makes of one case file's requests, or the problems it refuses
    them with (as JSON)."""
    from edi.checks import REQUEST_MODELS
    from edi.mappers._claim_common import ClaimMappingError
    from edi.mappers.envelope import Envelope
    from edi.mappers.institutional import claims_to_837i
    from edi.mappers.professional import claims_to_837p
    from edi.x12.delimiters import Delimiters

    kind = case["kind"]
    requests = [REQUEST_MODELS[kind].model_validate_json(json.dumps(r)) for r in case["requests"]]
    env = Envelope(sender_id="SUBMITTER01", receiver_id="RECEIVER01", interchange_control_number=123,
                   group_control_number=45, transaction_control_number=7, usage="P", now=NOW)
    if case.get("delimiters"):
        env.delimiters = Delimiters(**case["delimiters"])
    writer = claims_to_837p if kind == "professional" else claims_to_837i
    try:
        return writer(requests, env, case.get("batch_id"), max_per_set=case.get("max_per_set", 5000))
    except ClaimMappingError as error:
        return json.dumps([[p.path, p.message] for p in error.problems], indent=1) + "\n"


def _nine_digit_zips(data: Any) -> Any:
    """The samples' five-digit ZIPs made nine where the 837 wants nine (the writer refuses them)."""
    if isinstance(data, dict):
        return {k: (v + "1234" if k == "postalCode" and isinstance(v, str) and len(v) == 5 else _nine_digit_zips(v))
                for k, v in data.items()}
    if isinstance(data, list):
        return [_nine_digit_zips(v) for v in data]
    return data


def _cases() -> dict[str, dict[str, Any]]:
    from benchmarks.bench_pipeline import make_claims
    from edi.mappers.institutional import x12_837i_to_claims
    from edi.mappers.professional import x12_837p_to_claims
    from tests.test_mapper_claims import full_institutional, full_professional, professional_request

    cases: dict[str, dict[str, Any]] = {}
    for path in sorted((X12 / "837_005010X222A2").iterdir()):
        requests = [r.to_json() for r in x12_837p_to_claims(path.read_bytes())]
        cases[f"p-{path.name}"] = {"kind": "professional", "requests": _nine_digit_zips(requests)}
        if path.name == "demo.autoaccident.837":
            cases["p-refused"] = {"kind": "professional", "requests": requests}
    for path in sorted((X12 / "837_005010X223A3").iterdir()):
        requests = [r.to_json() for r in x12_837i_to_claims(path.read_bytes())]
        cases[f"i-{path.name}"] = {"kind": "institutional", "requests": _nine_digit_zips(requests)}
    cases["p-full"] = {"kind": "professional", "requests": [full_professional(), full_professional()]}
    cases["i-full"] = {"kind": "institutional", "requests": [full_institutional()]}
    batch = make_claims(24)
    other = copy.deepcopy(batch[3])
    other["submitter"]["organizationName"] = "ANOTHER SUBMITTER"
    dependent = copy.deepcopy(full_professional())
    cases["p-batch"] = {"kind": "professional", "batch_id": "000000123", "max_per_set": 10,
                        "requests": [*batch[:12], other, dependent, dependent, *batch[12:]]}
    cases["p-delimiters"] = {
        "kind": "professional",
        "delimiters": {"element": "|", "component": ">", "repetition": "!", "segment": "\n", "line_break": ""},
        "requests": [professional_request(subscriber__lastName="SMITH|JONES>X")],
    }
    return cases


def regenerate() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, case in _cases().items():
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(case, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        path.with_suffix(".x12").write_bytes(written(case).encode("utf-8"))


if __name__ == "__main__":
    regenerate()
