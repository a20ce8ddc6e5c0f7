"""`edi translate`: the direction and the mapper come from the content; problems come back as paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edi.x12.validator import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"

ELIGIBILITY = {
    "controlNumber": "123456789",
    "tradingPartnerServiceId": "842610001",
    "provider": {"organizationName": "BONE AND JOINT CLINIC", "npi": "1234567893"},
    "subscriber": {"memberId": "11122333301", "firstName": "ROBERT", "lastName": "SMITH", "dateOfBirth": "19430519"},
    "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240105"},
}


def edi(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "edi", *args], input=stdin, capture_output=True, timeout=120, check=False)


def test_eligibility_json_to_270_with_the_envelope_handed_in(tmp_path: Path) -> None:
    req = tmp_path / "req.json"
    req.write_text(json.dumps(ELIGIBILITY))
    run = edi("translate", str(req), "--sender-id", "CLINIC01", "--control-number", "42",
              "--group-control-number", "7", "--usage", "T")
    assert run.returncode == 0, run.stderr.decode()
    text = run.stdout.decode()
    assert text.startswith("ISA*") and "*000000042*0*T*" in text.split("~")[0]
    assert "GS*HS*CLINIC01*842610001*" in text and "*7*X*005010X279A1~" in text
    assert "TRN*1*123456789*" in text  # the trace that matches the 271 back to this request
    report = validate(text.encode())
    assert report.accepted, [f.message for f in report.all_findings()]


def test_271_to_json_by_content_from_stdin() -> None:
    data = (FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271").read_bytes()
    run = edi("translate", "-", stdin=data)
    assert run.returncode == 0, run.stderr.decode()
    doc = json.loads(run.stdout)
    assert doc["subscriber"]["memberId"] and doc["benefitsInformation"]
    assert any("30" in (b.get("serviceTypeCodes") or []) for b in doc["benefitsInformation"])


def test_835_to_json() -> None:
    run = edi("translate", str(FIXTURES / "835_005010X221A1" / "managed-care.835"))
    assert run.returncode == 0, run.stderr.decode()
    doc = json.loads(run.stdout)
    text = json.dumps(doc)
    assert "945" in text and "RUSHMORE LIFE" in text


def test_837p_x12_to_claims_json_and_back_to_valid_x12(tmp_path: Path) -> None:
    run = edi("translate", str(FIXTURES / "837_005010X222A2" / "demo.example1.837"))
    assert run.returncode == 0, run.stderr.decode()
    claims = json.loads(run.stdout)
    claim = claims[0] if isinstance(claims, list) else claims
    assert claim["claimInformation"]["serviceLines"]
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim))
    back = edi("translate", str(path), "--receiver-id", "66783JJT")
    assert back.returncode == 0, back.stderr.decode()
    report = validate(back.stdout)
    assert report.accepted, [f.message for f in report.all_findings()]


def test_bad_request_gives_every_problem_with_its_path_and_exit_1(tmp_path: Path) -> None:
    bad = dict(ELIGIBILITY, provider={"organizationName": "X", "npi": "1234567890"})
    bad["subscriber"] = {"memberId": 5, "firstName": "A"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    run = edi("translate", str(path))
    assert run.returncode == 1
    assert run.stdout == b""
    err = run.stderr.decode()
    assert "provider.npi" in err and "subscriber.memberId" in err
    assert "Traceback" not in err


def test_not_json_nor_x12_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(b"\x00\x01garbage")
    run = edi("translate", str(path))
    assert run.returncode == 2 and b"Traceback" not in run.stderr
