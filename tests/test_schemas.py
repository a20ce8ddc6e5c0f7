"""The committed JSON Schemas in schemas/ match the models exactly, and the export tool catches drift."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edi.schema_export import SCHEMA_MODELS, check_schemas, generate_schemas, main, render_schema

REPO_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
EXPECTED_FILES = sorted(
    [
        "ack-999.schema.json",
        "claim-acknowledgment-277ca.schema.json",
        "claim-status-277.schema.json",
        "eligibility-request.schema.json",
        "eligibility-response.schema.json",
        "institutional-claim.schema.json",
        "payment-835.schema.json",
        "professional-claim.schema.json",
        "ta1.schema.json",
    ]
)


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    generate_schemas(tmp_path)
    generated = sorted(path.name for path in tmp_path.iterdir())
    committed = sorted(path.name for path in REPO_SCHEMAS.glob("*.schema.json"))
    assert generated == EXPECTED_FILES
    assert committed == EXPECTED_FILES, "run: python -m edi.schema_export"
    for name in EXPECTED_FILES:
        assert (REPO_SCHEMAS / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(encoding="utf-8"), (
            f"schemas/{name} is out of date: run python -m edi.schema_export"
        )
    assert check_schemas(REPO_SCHEMAS) == []


def test_drift_is_reported(tmp_path: Path) -> None:
    for name in EXPECTED_FILES:
        shutil.copy(REPO_SCHEMAS / name, tmp_path / name)
    assert check_schemas(tmp_path) == []
    (tmp_path / "ta1.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "payment-835.schema.json").unlink()
    (tmp_path / "old-thing.schema.json").write_text("{}\n", encoding="utf-8")
    assert check_schemas(tmp_path) == ["old-thing.schema.json", "payment-835.schema.json", "ta1.schema.json"]
    assert main(["--check", "--out-dir", str(tmp_path)]) == 1
    assert main(["--out-dir", str(tmp_path)]) == 0
    assert check_schemas(tmp_path) == ["old-thing.schema.json"]


def test_check_command_exits_zero_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edi.schema_export", "--check", "--out-dir", str(REPO_SCHEMAS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_check_command_exits_one_listing_drift(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edi.schema_export", "--check", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    for name in EXPECTED_FILES:
        assert name in result.stderr


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_rendering_is_deterministic(name: str) -> None:
    text = render_schema(SCHEMA_MODELS[name])
    assert text == render_schema(SCHEMA_MODELS[name])
    assert text.endswith("}\n") and not text.endswith("\n\n")
    schema = json.loads(text)
    assert json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("name", "closed"),
    [
        ("eligibility-request", False),
        ("professional-claim", False),
        ("institutional-claim", False),
        ("eligibility-response", True),
        ("payment-835", True),
    ],
)
def test_requests_are_closed_and_responses_open(name: str, closed: bool) -> None:
    schema = json.loads((REPO_SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is closed


def test_request_schema_states_the_limits() -> None:
    schema = json.loads((REPO_SCHEMAS / "professional-claim.schema.json").read_text(encoding="utf-8"))
    lines = schema["$defs"]["ProfessionalClaimInformation"]["properties"]["serviceLines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 50)
    amount = schema["$defs"]["ProfessionalService"]["properties"]["lineItemChargeAmount"]
    assert amount["type"] == ["string", "number"]
    assert amount["pattern"] == r"^\d{1,10}(\.\d{1,2})?$"
    assert schema["required"] == [
        "controlNumber",
        "tradingPartnerServiceId",
        "submitter",
        "receiver",
        "subscriber",
        "claimInformation",
    ]


ELIGIBILITY = {
    "controlNumber": "123456789",
    "tradingPartnerServiceId": "87726",
    "provider": {"organizationName": "Clinic", "npi": "1234567893"},
    "subscriber": {"memberId": "0000000001", "dateOfBirth": "19800102"},
    "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240105"},
}


def _schema(name: str) -> dict[str, object]:
    return json.loads((REPO_SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_schema_and_model_agree_on_examples() -> None:
    import jsonschema
    validator = jsonschema.Draft202012Validator(_schema("eligibility-request"))
    model = SCHEMA_MODELS["eligibility-request"]

    assert list(validator.iter_errors(ELIGIBILITY)) == []
    model.model_validate(ELIGIBILITY)

    for broken in (
        {**ELIGIBILITY, "controlNumber": "12345"},
        {**ELIGIBILITY, "unknownField": "x"},
        {**ELIGIBILITY, "subscriber": {"memberId": "1", "dateOfBirth": "19801302"}},
        {key: value for key, value in ELIGIBILITY.items() if key != "provider"},
    ):
        assert list(validator.iter_errors(broken)), broken
        with pytest.raises(ValueError):
            model.model_validate(broken)


def test_response_schema_accepts_engine_output() -> None:
    import jsonschema
    ack = SCHEMA_MODELS["ack-999"].model_validate(
        {
            "functionalGroupAcknowledgeCode": "R",
            "transactionSets": [
                {
                    "transactionSetIdentifierCode": "837",
                    "controlNumber": "0001",
                    "acknowledgmentCode": "R",
                    "segmentErrors": [{"segmentId": "CLM", "position": 12, "errorCode": "8"}],
                }
            ],
        }
    )
    output = ack.model_dump(mode="json", by_alias=True)
    jsonschema.Draft202012Validator(_schema("ack-999")).validate(output)
