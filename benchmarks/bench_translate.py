"""Translation benchmark: JSON claims -> 837P, and 835 -> JSON, beside X12 validation.

What is measured (all in this one process, one run each, wall-clock with ``time.perf_counter``)
    * ``JSON -> 837P``: ``edi.mappers.professional.claims_to_837p`` on N `ProfessionalClaimRequest`
      models built beforehand by a deterministic generator (``generate_claims(n, seed)``; building
      and validating the models is not timed). The claims go into one interchange, 5,000 claims per
      transaction set.
    * ``835 -> JSON``: ``edi.mappers.remittance.x12_835_to_reports`` when that module exists ("n/a"
      otherwise) on a synthetic 835 with N claims: the two 2100 claim loops of
      ``tests/fixtures/x12/835_005010X221A1/managed-care.835`` repeated with their own claim ids,
      ST03 set to 005010X221A1, BPR16 set to a valid date and BPR02 to the sum of the paid amounts.
    * ``X12 validation``: ``edi.x12.validator.validate`` on the 837P just generated, so the mappers
      can be compared with the engine's own reading and checking speed on the same bytes.

Rates are claims per second. Timings are printed, never checked; the driver exits 1 only if the
generated 837P is not accepted by the validator (it is valid by construction).

Usage
    python -m benchmarks.bench_translate [--claims 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchmarks.gen_837p import (
    _FIRST_F,
    _FIRST_M,
    _ICD10,
    _LAST_NAMES,
    _PAYERS,
    _PLACES,
    _PROCEDURES,
    _PROVIDER_NAMES,
    _STREETS,
    make_npi,
)
from edi.mappers.envelope import Envelope
from edi.models.claims import ProfessionalClaimRequest

__all__ = ["generate_claims", "synthetic_835", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGED_CARE_835 = REPO_ROOT / "tests" / "fixtures" / "x12" / "835_005010X221A1" / "managed-care.835"


def _money(cents: int) -> str:
    return str(Decimal(cents) / 100)


def _claim(rng: random.Random, number: int, providers: list[dict], submitter: dict) -> dict:
    gender = rng.choice("FM")
    first = rng.choice(_FIRST_F if gender == "F" else _FIRST_M)
    city, state, zip5 = rng.choice(_PLACES)
    subscriber = {
        "memberId": f"{rng.choice('ABCDHJKMNPRTW')}{rng.randrange(10**9):09d}",
        "paymentResponsibilityLevelCode": "P",
        "firstName": first,
        "lastName": rng.choice(_LAST_NAMES),
        "gender": gender,
        "dateOfBirth": (date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))).strftime("%Y%m%d"),
        "groupNumber": f"GRP{rng.randrange(10**6):06d}",
        "address": {"address1": f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}", "city": city, "state": state,
                    "postalCode": zip5},
    }  # fmt: skip
    dependent = None
    if rng.random() < 0.3:
        dependent = {
            "firstName": rng.choice(_FIRST_F + _FIRST_M),
            "lastName": subscriber["lastName"],
            "gender": rng.choice("FM"),
            "dateOfBirth": (date(2005, 1, 1) + timedelta(days=rng.randrange(15 * 365))).strftime("%Y%m%d"),
            "relationshipToSubscriberCode": "19",
            "address": subscriber["address"],
        }
    dx = rng.sample(_ICD10, rng.randint(1, 5))
    service_day = date(2024, 1, 2) + timedelta(days=rng.randrange(60))
    lines, total = [], 0
    for _ in range(rng.randint(1, 4)):
        code, base = rng.choice(_PROCEDURES)
        units = rng.choice((1, 1, 1, 2))
        cents = (base + rng.randrange(0, 2000, 25)) * units
        total += cents
        lines.append({
            "serviceDate": service_day.strftime("%Y%m%d"),
            "professionalService": {
                "procedureIdentifier": "HC", "procedureCode": code, "lineItemChargeAmount": _money(cents),
                "measurementUnit": "UN", "serviceUnitCount": str(units),
                "compositeDiagnosisCodePointers": {
                    "diagnosisCodePointers": [str(i + 1) for i in range(min(len(dx), 4))]},
            },
        })  # fmt: skip
    payer_name, payer_id = rng.choice(_PAYERS)
    request = {
        "controlNumber": f"{number % 10**9:09d}",
        "tradingPartnerServiceId": payer_id,
        "tradingPartnerName": payer_name,
        "submitter": submitter,
        "receiver": {"organizationName": payer_name},
        "subscriber": subscriber,
        "billing": rng.choice(providers),
        "claimInformation": {
            "claimFilingCode": "CI", "patientControlNumber": f"PCN{number:09d}", "claimChargeAmount": _money(total),
            "placeOfServiceCode": "11", "claimFrequencyCode": "1", "signatureIndicator": "Y",
            "planParticipationCode": "A", "benefitsAssignmentCertificationIndicator": "Y",
            "releaseInformationCode": "Y",
            "healthCareCodeInformation": [{"diagnosisTypeCode": "ABK" if i == 0 else "ABF", "diagnosisCode": code}
                                          for i, code in enumerate(dx)],
            "serviceLines": lines,
        },
    }  # fmt: skip
    if dependent is not None:
        request["dependent"] = dependent
    return request


def generate_claims(n: int, seed: int = 0) -> list[ProfessionalClaimRequest]:
    """`n` valid professional claim requests, the same for the same (n, seed)."""
    rng = random.Random(seed)
    submitter = {"organizationName": "EDI BENCH CLEARINGHOUSE",
                 "contactInformation": {"name": "BENCH SUPPORT", "phoneNumber": "5555550100"}}  # fmt: skip
    providers = []
    for name in _PROVIDER_NAMES:
        city, state, zip5 = rng.choice(_PLACES)
        providers.append({
            "providerType": "BillingProvider", "npi": make_npi(rng), "employerId": f"{rng.randrange(10**9):09d}",
            "organizationName": name,
            "address": {"address1": f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}", "city": city, "state": state,
                        "postalCode": f"{zip5}{rng.randint(1, 9999):04d}"},
        })  # fmt: skip
    return [
        ProfessionalClaimRequest.model_validate(_claim(rng, i + 1, providers, submitter)) for i in range(n)
    ]


def synthetic_835(n_claims: int) -> bytes:
    """The managed-care 835 sample grown to `n_claims` claims by repeating its 2100 loops."""
    text = MANAGED_CARE_835.read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    body = segments[st + 1 : se]
    first_clp = next(i for i, s in enumerate(body) if s.startswith("CLP*"))
    header, claims_part = body[:first_clp], body[first_clp:]
    loops: list[list[str]] = []
    for seg in claims_part:
        if seg.startswith("CLP*"):
            loops.append([])
        loops[-1].append(seg)
    out_claims: list[str] = []
    paid = Decimal(0)
    for i in range(n_claims):
        loop = list(loops[i % len(loops)])
        clp = loop[0].split("*")
        clp[1] = f"CLM{i + 1:09d}"
        paid += Decimal(clp[4])
        loop[0] = "*".join(clp)
        out_claims.extend(loop)
    new_header = []
    for seg in header:
        if seg.startswith("BPR*"):
            bpr = seg.split("*")
            bpr[2] = f"{paid:.2f}"
            bpr[16] = "20020316"
            seg = "*".join(bpr)
        new_header.append(seg)
    st_id = segments[st].split("*")[2]
    content = [f"ST*835*{st_id}*005010X221A1", *new_header, *out_claims]
    content.append(f"SE*{len(content) + 1}*{st_id}")
    all_segments = segments[:st] + content + segments[se + 1 :]
    return ("~\n".join(all_segments) + "~\n").encode("ascii")


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "inf"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000, help="number of claims (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = args.claims

    from edi.mappers.professional import claims_to_837p
    from edi.x12.validator import validate

    t0 = time.perf_counter()
    claims = generate_claims(n, args.seed)
    generated = time.perf_counter() - t0
    env = Envelope(sender_id="EDIBENCHSUBMIT", receiver_id="EDIBENCHRECEIVE", interchange_control_number=1,
                   group_control_number=1, transaction_control_number=1, now=datetime(2024, 3, 15, 12, 0))  # fmt: skip

    t0 = time.perf_counter()
    x12 = claims_to_837p(claims, env)
    to_837 = time.perf_counter() - t0
    data = x12.encode("ascii")

    t0 = time.perf_counter()
    report = validate(data)
    validating = time.perf_counter() - t0

    try:
        from edi.mappers.remittance import x12_835_to_reports
    except ImportError:
        x12_835_to_reports = None
    remit_rate = "n/a"
    remit_note = "edi.mappers.remittance.x12_835_to_reports not available"
    if x12_835_to_reports is not None:
        source = synthetic_835(n)
        t0 = time.perf_counter()
        reports = x12_835_to_reports(source)
        remit = time.perf_counter() - t0
        remit_rate = _rate(n, remit)
        remit_note = f"{remit:.3f} s, {len(source):,} bytes, {len(reports)} report(s)"

    print(f"claims: {n:,} (generated in {generated:.2f} s, not timed below); 837P: {len(data):,} bytes")
    print(f"{'measure':<22} {'claims/s':>12}  detail")
    print(f"{'JSON -> 837P':<22} {_rate(n, to_837):>12}  {to_837:.3f} s")
    print(f"{'835 -> JSON':<22} {remit_rate:>12}  {remit_note}")
    print(f"{'X12 validation (837P)':<22} {_rate(n, validating):>12}  {validating:.3f} s, "
          f"{'accepted' if report.accepted else 'REJECTED'}")  # fmt: skip
    return 0 if report.accepted else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
