"""Write the JSON Schemas of the JSON contract into ``schemas/`` and check them for drift.

Clients that do not use Python validate against these files, so they must always
match the Pydantic models. ``python -m edi.schema_export`` rewrites them;
``python -m edi.schema_export --check`` exits 1 and lists every file that differs
from what the models produce (CI runs it, and so does tests/test_schemas.py).
Output is deterministic: sorted keys, two-space indent, one trailing newline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from edi.models import (
    ClaimAcknowledgmentReport,
    ClaimStatusResponse,
    EligibilityRequest,
    EligibilityResponse,
    FunctionalAcknowledgment,
    InstitutionalClaimRequest,
    InterchangeAcknowledgment,
    PaymentReport,
    ProfessionalClaimRequest,
    RequestModel,
)

__all__ = ["DEFAULT_OUT_DIR", "SCHEMA_MODELS", "check_schemas", "generate_schemas", "main", "render_schema"]

DEFAULT_OUT_DIR = Path("schemas")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

SCHEMA_MODELS: Mapping[str, type[BaseModel]] = {
    "eligibility-request": EligibilityRequest,
    "eligibility-response": EligibilityResponse,
    "professional-claim": ProfessionalClaimRequest,
    "institutional-claim": InstitutionalClaimRequest,
    "ta1": InterchangeAcknowledgment,
    "ack-999": FunctionalAcknowledgment,
    "claim-acknowledgment-277ca": ClaimAcknowledgmentReport,
    "payment-835": PaymentReport,
    "claim-status-277": ClaimStatusResponse,
}


def _file_name(name: str) -> str:
    return f"{name}.schema.json"


def render_schema(model: type[BaseModel]) -> str:
    """The JSON Schema of ``model`` as deterministic text.

    Requests are described as they are accepted (validation mode); responses as
    the engine emits them (serialization mode).
    """
    mode = "validation" if issubclass(model, RequestModel) else "serialization"
    schema = model.model_json_schema(by_alias=True, mode=mode)
    schema = {"$schema": JSON_SCHEMA_DIALECT, **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _expected() -> dict[str, str]:
    return {_file_name(name): render_schema(model) for name, model in SCHEMA_MODELS.items()}


def generate_schemas(out_dir: Path | str = DEFAULT_OUT_DIR) -> list[Path]:
    """Write one schema file per top-level model into ``out_dir``; return the paths written."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in _expected().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_schemas(out_dir: Path | str = DEFAULT_OUT_DIR) -> list[str]:
    """Names of the schema files in ``out_dir`` that are missing, differ from the models, or are stale."""
    directory = Path(out_dir)
    expected = _expected()
    drifted = []
    for file_name, text in expected.items():
        path = directory / file_name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            drifted.append(file_name)
    if directory.is_dir():
        drifted.extend(path.name for path in directory.glob("*.schema.json") if path.name not in expected)
    return sorted(drifted)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: write the schemas, or with ``--check`` report drift and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m edi.schema_export", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="directory of the schema files")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if any file differs")
    args = parser.parse_args(argv)
    if args.check:
        drifted = check_schemas(args.out_dir)
        if drifted:
            print("JSON schemas out of date (run python -m edi.schema_export):", file=sys.stderr)
            for name in drifted:
                print(f"  {args.out_dir / name}", file=sys.stderr)
            return 1
        return 0
    for path in generate_schemas(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
