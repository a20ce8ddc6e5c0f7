"""Logs carry no PHI: every level, stdlib and structlog, extras, nested fields, printed dicts,
X12 fragments and exceptions, each seeded with PHI, in a process of its own whose output is
scanned for the seeds -- while the ids and codes that make logs useful survive."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edi.logs import MASK, mask_text

ROOT = Path(__file__).resolve().parents[1]

PHI = {
    "first": "ZEBULON", "last": "QUIXANO", "member": "MBR99887766", "dob": "1961-07-14", "dob8": "19610714",
    "street": "742 Evergreen Terrace", "city": "Springfieldia", "zip": "49007", "ssn": "078-05-1120",
    "phone": "(555) 867-5309", "email": "zq@example.org",
}

SCRIPT = r'''
import logging, sys
from pydantic import BaseModel
from edi.logs import configure_logging, get_logger
P = __PHI__
configure_logging("DEBUG", stream=sys.stdout, service="test-worker")
std = logging.getLogger("edi.pipeline.test")
person = {"first_name": P["first"], "lastName": P["last"], "memberId": P["member"], "dob": P["dob"],
          "address": {"street": P["street"], "city": P["city"], "zip": P["zip"]}}
for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
    std.log(level, "claim batched", extra={"transaction_id": "01JTX", "partner_id": "payer-1", "isa13": 42,
            "subscriber": person, "patient_name": P["first"] + " " + P["last"], "ssn": P["ssn"]})
    std.log(level, "loaded %s", person)
    std.log(level, "segment %s", "NM1*IL*1*" + P["last"] + "*" + P["first"] + "****MI*" + P["member"] + "~DMG*D8*" + P["dob8"] + "~")
    std.log(level, "contact", extra={"detail": "call " + P["phone"] + " or " + P["email"] + " at " + P["street"]
            + ", born " + P["dob"] + ", ssn " + P["ssn"], "counts": [1, 2, {"memberId": P["member"]}]})
log = get_logger("edi.api")
for method in ("debug", "info", "warning", "error", "critical"):
    getattr(log, method)("eligibility answered", transaction_id="01JTY", aaa_code="75", count=3,
                         member_id=P["member"], name=P["first"], patient={"dob": P["dob"]}, items=[person])
try:
    raise KeyError(P["member"])
except KeyError:
    std.exception("lookup failed", extra={"transaction_id": "01JTZ"})
try:
    raise ValueError(f"no subscriber '{P['last']}, {P['first']}' with member id {P['member']!r} born {P['dob']}")
except ValueError:
    log.exception("match failed", transaction_id="01JTZ")
class Subscriber(BaseModel):
    member_id: int
try:
    Subscriber(member_id=P["first"])
except Exception:
    std.error("invalid", exc_info=True)
logging.getLogger("httpx").info("HTTP Request: GET http://payer.test/members/%s", P["member"])
logging.getLogger("httpcore").debug("send_request_headers %s", P["member"])
'''


@pytest.fixture(scope="module")
def output() -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT.replace("__PHI__", repr(PHI))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_no_seeded_phi_anywhere_in_the_output(output: list[dict[str, object]]) -> None:
    text = json.dumps(output)
    leaked = {name: value for name, value in PHI.items() if value in text}
    assert leaked == {}


def test_every_level_and_both_apis_were_logged(output: list[dict[str, object]]) -> None:
    levels = {(line["logger"], line["level"]) for line in output}
    for level in ("debug", "info", "warning", "error", "critical"):
        assert ("edi.pipeline.test", level) in levels and ("edi.api", level) in levels
    assert len(output) == 5 * 4 + 5 + 3
    assert all(line["service"] == "test-worker" and line["timestamp"] for line in output)


def test_ids_codes_and_counts_survive(output: list[dict[str, object]]) -> None:
    batched = next(line for line in output if line["event"] == "claim batched")
    assert (batched["transaction_id"], batched["partner_id"], batched["isa13"]) == ("01JTX", "payer-1", 42)
    assert batched["subscriber"] == MASK and batched["patient_name"] == MASK and batched["ssn"] == MASK
    answered = next(line for line in output if line["event"] == "eligibility answered")
    assert (answered["transaction_id"], answered["aaa_code"], answered["count"]) == ("01JTY", "75", 3)
    assert answered["member_id"] == MASK and answered["name"] == MASK and answered["patient"] == MASK
    contact = next(line for line in output if line["event"] == "contact")
    assert contact["counts"] == [1, 2, {"memberId": MASK}]


def test_exceptions_keep_their_frames_but_not_their_values(output: list[dict[str, object]]) -> None:
    failures = [line for line in output if "exception" in line]
    assert len(failures) == 3
    for line in failures:
        assert 'File "<string>"' in str(line["exception"])
    assert "KeyError" in str(failures[0]["exception"]) and "ValueError" in str(failures[1]["exception"])
    assert "ValidationError" in str(failures[2]["exception"])


def test_http_client_loggers_are_quiet(output: list[dict[str, object]]) -> None:
    assert not [line for line in output if str(line["logger"]).startswith(("httpx", "httpcore"))]


@pytest.mark.parametrize(("text", "kept"), [
    ("NM1*IL*1*DOE*JOHN~", ""),
    ("born 1961-07-14", "born "),
    ("{'memberId': 'W123', 'count': 2}", "'count': 2"),
    ("partner payer-1 sent 3 claims, ISA13 000000042", "partner payer-1 sent 3 claims, ISA13 000000042"),
])
def test_guard_masks_what_looks_like_phi_and_keeps_the_rest(text: str, kept: str) -> None:
    masked = mask_text(text)
    assert kept in masked
    assert "DOE" not in masked and "1961" not in masked and "W123" not in masked


def test_configuring_twice_keeps_one_handler() -> None:
    from edi.logs import configure_logging

    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("INFO")
        configure_logging("INFO")
        assert len(root.handlers) == len(before) + 1
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def test_the_commands_log_json_through_the_redactor(tmp_path, capsys) -> None:  # noqa: ANN001
    """`edi worker`/`edi api` set up edi.logs: a PHI value in a log call comes out masked."""
    import logging as stdlib_logging

    from connectors.pipeline.commands import _configure_logs

    _configure_logs("worker")
    try:
        stdlib_logging.getLogger("edi.test").warning("member %s", "NM1*IL*1*ZZTESTPHI*JOHN")
        err = capsys.readouterr().err
        line = json.loads(err.strip().splitlines()[-1])
        assert line["service"] == "worker" and line["level"] == "warning"
        assert "ZZTESTPHI" not in err
    finally:
        root = stdlib_logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() and "edi" in handler.get_name():
                root.removeHandler(handler)
