"""``edi clients new`` and ``edi api-keys new``: a generated secret shown once, only its hash kept,
and the credential then works against the real API (token endpoint, API key)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import asyncssh
import httpx
import pytest
import yaml
from typer.testing import CliRunner

from connectors.api import create_app
from connectors.api.auth import api_auth_options
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from edi.auth import generate_signing_key_pem
from edi.cli import app
from edi.partners import load_partners
from edi.settings import Settings
from tests.servers.http import serve

runner = CliRunner()


@pytest.fixture
def partners_file(tmp_path: Path) -> Path:
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=2222,
                                 known_hosts_line=f"[127.0.0.1]:2222 {host_key}")
    return config.partners_file


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_new_oauth_client_gets_a_token_with_the_secret_printed_once(partners_file: Path, tmp_path: Path) -> None:
    before = partners_file.read_text()
    code, out, err = run("clients", "new", SUBMITTER_ID, "--id", "clinic-batch", "--scope", "claims:write",
                         "--scope", "transactions:read", "--partners-file", str(partners_file))
    assert code == 0, err
    assert partners_file.read_text() == before  # without --write only printed
    secret = out.splitlines()[1].removeprefix("client_secret: ")
    assert out.splitlines()[0] == "client_id: clinic-batch" and len(secret) >= 40
    assert "secret_hash: scrypt$" in err and secret not in err

    code, out, err = run("clients", "new", SUBMITTER_ID, "--id", "clinic-batch", "--scope", "claims:write",
                         "--partners-file", str(partners_file), "--write")
    assert code == 0, err
    secret = out.splitlines()[1].removeprefix("client_secret: ")
    assert secret not in partners_file.read_text()  # stored hashed only
    (client,) = [c for c in load_partners(partners_file).submitters[SUBMITTER_ID].oauth_clients
                 if c.client_id == "clinic-batch"]
    assert [s.value for s in client.scopes] == ["claims:write"]

    again = run("clients", "new", SUBMITTER_ID, "--id", "clinic-batch", "--scope", "claims:write",
                "--partners-file", str(partners_file), "--write")
    assert again[0] == 2 and "already configured" in again[2]
    assert run("clients", "new", "nobody", "--id", "x", "--scope", "claims:write",
               "--partners-file", str(partners_file))[0] == 2
    assert run("clients", "new", SUBMITTER_ID, "--id", "y", "--scope", "root",
               "--partners-file", str(partners_file))[0] == 2

    # the secret works at the token endpoint of an API configured from that file
    partners = load_partners(partners_file)
    signing = json.dumps({"keys": {"k1": generate_signing_key_pem()}, "current": "k1"})
    options = api_auth_options({sid: s.oauth_clients for sid, s in partners.submitters.items()}, {
        "EDI_AUTH_ISSUER": "https://edi.test/", "EDI_AUTH_AUDIENCE": "https://api.edi.test",
        "EDI_AUTH_SIGNING_KEYS": signing})
    pipeline = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), partners=partners,
                             create_key=True)
    try:
        api = create_app(pipeline.repository, pipeline.payloads, partners.api_keys(), **options)
        with serve(api) as url:
            good = httpx.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=("clinic-batch", secret))
            assert good.status_code == 200, good.text
            assert good.json()["scope"] == "claims:write"
            wrong = httpx.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                               auth=("clinic-batch", secret + "x"))
            assert wrong.status_code == 401
    finally:
        pipeline.repository.engine.dispose()


def test_a_new_api_key_authenticates_and_only_its_digest_is_kept(partners_file: Path, tmp_path: Path) -> None:
    code, out, err = run("api-keys", "new", SUBMITTER_ID, "--partners-file", str(partners_file), "--write")
    assert code == 0, err
    key = out.strip().removeprefix("api_key: ")
    assert key and key not in partners_file.read_text()
    stored = yaml.safe_load(partners_file.read_text())["submitters"][SUBMITTER_ID]["api_keys_sha256"]
    assert len(stored) >= 1
    partners = load_partners(partners_file)
    pipeline = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), partners=partners,
                             create_key=True)
    try:
        api = create_app(pipeline.repository, pipeline.payloads, partners.api_keys())
        with serve(api) as url:
            listed = httpx.get(f"{url}/transactions", headers={"Authorization": f"Bearer {key}"})
            assert listed.status_code == 200, listed.text
            other = base64.urlsafe_b64encode(b"\0" * 32).decode()
            assert httpx.get(f"{url}/transactions", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    finally:
        pipeline.repository.engine.dispose()
