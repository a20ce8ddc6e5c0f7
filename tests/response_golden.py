"""Golden files of what the responses stage makes of 999, 277CA and 835 documents.

The JSON a submitter receives for each claim is cut out of the payer's document by the mappers
and `edi.responses.split_*`; making those faster must not change a byte of it. The inputs are
the X12 samples of the test suite plus the payer simulator's answers to a batch of claims (some
rejected, some paid), stored as files so the golden outputs depend on nothing but the code
under test. Regenerate (only when the JSON is meant to change) with::

    python -m tests.response_golden
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "fixtures" / "golden_responses"
X12 = HERE / "fixtures" / "x12"
KINDS = ("999", "277CA", "835")


def kind_of(path: Path) -> str:
    return path.name.split("-", 1)[0]


def inputs() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if p.suffix == ".x12")


def outputs_of(raw: bytes, kind: str, *, shared: bool = False) -> dict[str, Any]:
    """Every report (or 999) read from `raw` as JSON, and every part a claim (or set) is sent
    (`shared`: split as the pipeline does, parts sharing what they have in common)."""
    from edi.mappers.acknowledgments import x12_999_to_acks
    from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
    from edi.mappers.remittance import x12_835_to_reports
    from edi.responses import split_277ca, split_835, split_999

    read: Callable[[bytes], list[Any]]
    split: Callable[[Any], list[Any]]
    read, split = {
        "999": (x12_999_to_acks, split_999),
        "277CA": (x12_277ca_to_reports, split_277ca),
        "835": (x12_835_to_reports, split_835),
    }[kind]
    reports = read(raw)
    if shared and kind != "999":
        split = functools.partial(split, shared=True)
    return {
        "reports": [r.to_json() for r in reports],
        "parts": [
            {k: ([dataclasses.asdict(key) for key in v] if k == "keys" else v)
             for k, v in ((f.name, getattr(part, f.name)) for f in dataclasses.fields(part))}
            for report in reports for part in split(report)
        ],
    }


def normalised(value: Any) -> Any:
    """JSON as stored (tuples as lists), so a fresh result compares equal to a file's."""
    return json.loads(json.dumps(value))


def _simulated() -> dict[str, bytes]:
    """The payer simulator's 999, 277CA and 835 for 20 claims in four sets: one set rejected by
    the 999, a quarter of the other claims by the 277CA."""
    from benchmarks.bench_pipeline import FIXTURES
    from connectors.payer_sim import reply_envelope
    from connectors.payer_sim.roster import load_roster
    from connectors.payer_sim.rules import acknowledge_batch, load_rules, pay_claims
    from edi.mappers.envelope import Envelope
    from edi.mappers.professional import claims_to_837p
    from edi.models.claims import ProfessionalClaimRequest
    from edi.x12.ack import AckNumbers
    from tests.test_payer_sim_rules import claim

    now = datetime(2024, 5, 1, 10, 15)
    rules, roster = load_rules(FIXTURES / "rules.yaml"), load_roster(FIXTURES / "roster.yaml")
    base = claim("GOLD-0", "SIM00001").to_json()
    requests = []
    for number in range(20):
        data = json.loads(json.dumps(base))
        data["claimInformation"]["patientControlNumber"] = f"GOLD-{number:04d}"
        data["subscriber"]["memberId"] = ("SIM00001", "SIM00002", "SIM00003", "NOBODY01")[number % 4]
        requests.append(ProfessionalClaimRequest.model_validate(data))
    envelope = Envelope(sender_id="ENGINE01", receiver_id="SIMPLAN01", interchange_control_number=700,
                        group_control_number=700, usage="T", ack_requested="1", now=now)
    text = claims_to_837p(requests, envelope, max_per_set=5)
    start = text.index("ST*837*", text.index("ST*837*") + 1)  # the 999 rejects the second set
    text = text[:start] + text[start:].replace("SBR*P*", "SBR*Q*", 1)
    answer = acknowledge_batch(text, rules, roster, AckNumbers(interchange=701, group=701),
                               reply_envelope(text, 702, 702, now=now))
    text_835 = pay_claims(answer.verdicts, rules, reply_envelope(text, 703, 703, now=now), roster)
    assert answer.ack_999 and answer.ack_277ca and text_835
    return {"999-simulated": answer.ack_999.encode(), "277CA-simulated": answer.ack_277ca.encode(),
            "835-simulated": text_835.encode()}


def _samples() -> dict[str, bytes]:
    from tests import test_mapper_responses as t

    return {
        "999-accepted": (X12 / "999_005010X231A1" / "accepted.999").read_bytes(),
        "999-rejected": (X12 / "999_005010X231A1" / "rejected.999").read_bytes(),
        "999-hand-made": t.x12(t.HAND_MADE_999),
        "999-ours": t.our_ack(t.EXAMPLE6).encode(),
        "277CA-accepted": t.CA_277.read_bytes(),
        "277CA-rejected": t.x12(t.REJECTED_277CA),
        "835-managed-care": t.MANAGED_CARE.read_bytes(),
        "835-medicare-part-a": t.MEDICARE_A.read_bytes(),
        "835-rich": t.x12(t.RICH_835),
    }


def regenerate() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, raw in {**_samples(), **_simulated()}.items():
        (GOLDEN / f"{name}.x12").write_bytes(raw)
    for path in inputs():
        out = outputs_of(path.read_bytes(), kind_of(path))
        path.with_suffix(".json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path.name, len(out["reports"]), "report(s),", len(out["parts"]), "part(s)")


if __name__ == "__main__":
    regenerate()
