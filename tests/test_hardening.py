"""Hardening: hostile XML never reaches a parser that would expand it, the API speaks CORS only to
the origins it is told to, and ``edi api`` serves HTTPS with a certificate it is given.

Real servers on loopback throughout: the payer simulator's CORE endpoint over HTTP, the API
under uvicorn, and ``edi api`` as a subprocess with a self-signed certificate made here.
"""

from __future__ import annotations

import ast
import base64
import os
import select
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.api import create_app
from connectors.api.cors import cors_origins
from connectors.payer_sim.roster import load_roster
from connectors.payer_sim.rules import load_rules
from connectors.payer_sim.server import sim_app
from edi.keys import KeyRing, generate_key
from edi.payloads import LocalPayloadStore
from edi.store import Repository, make_engine, migrate
from tests.servers.http import serve
from tests.servers.tls import self_signed

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "connectors" / "payer_sim" / "sample"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<cor:COREEnvelopeRealTimeRequest xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd">
<Payload>&xxe;</Payload></cor:COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<cor:COREEnvelopeRealTimeRequest xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd">
<PayloadType>&lol9;</PayloadType></cor:COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>"""


# -- XML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [XXE, BOMB], ids=["external-entity", "billion-laughs"])
def test_core_endpoint_refuses_hostile_xml(document: bytes) -> None:
    app = sim_app(load_roster(SAMPLE / "roster.yaml"), load_rules(SAMPLE / "rules.yaml"),
                  receiver_id="SIMPLAN01", sender_id="SIMPLAN01")
    with serve(app) as base:
        answer = httpx.post(base + "/core", content=document, timeout=30,
                            headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert 400 <= answer.status_code < 600
    assert b"Fault" in answer.content and b"refused" in answer.content
    assert b"root:" not in answer.content and b"lollol" not in answer.content


# Parsers of bundled, trusted resources (X12 grammar, map index) may use the standard library;
# nothing that reads input from outside may.
TRUSTED_XML_READERS = {"edi/x12/grammar.py", "edi/maps/__init__.py"}
UNSAFE = {("ET", "parse"), ("ET", "fromstring"), ("ET", "XMLParser"), ("ET", "iterparse"),
          ("ElementTree", "parse"), ("ElementTree", "fromstring"), ("minidom", "parseString"),
          ("minidom", "parse"), ("sax", "parse"), ("sax", "parseString"), ("pulldom", "parse")}


def test_untrusted_xml_is_only_read_through_defusedxml() -> None:
    offenders = []
    for path in sorted([*ROOT.glob("edi/**/*.py"), *ROOT.glob("connectors/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [alias.name for alias in node.names]
                if any(n.startswith("lxml") for n in names) or (module or "").startswith("lxml"):
                    offenders.append(f"{relative}: lxml")
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and (node.value.id, node.attr) in UNSAFE and relative not in TRUSTED_XML_READERS):
                offenders.append(f"{relative}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offenders == []


# -- CORS --------------------------------------------------------------------------------------


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[Repository, LocalPayloadStore]]:
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    migrate(url)
    engine = make_engine(url)
    store = LocalPayloadStore(tmp_path / "p", KeyRing({"k1": base64.b64decode(generate_key())}, "k1"), durable=False)
    yield Repository(engine), store
    engine.dispose()


def preflight(base: str, origin: str) -> httpx.Response:
    return httpx.options(base + "/v1/eligibility", timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })


def test_no_cors_by_default(app_parts: tuple[Repository, LocalPayloadStore], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDI_API_CORS_ORIGINS", raising=False)
    with serve(create_app(*app_parts, {})) as base:
        answer = preflight(base, "https://portal.example.org")
        simple = httpx.get(base + "/openapi.json", headers={"Origin": "https://portal.example.org"}, timeout=30)
    assert "access-control-allow-origin" not in answer.headers
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


def test_cors_allow_list(app_parts: tuple[Repository, LocalPayloadStore], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDI_API_CORS_ORIGINS", "https://portal.example.org, http://localhost:3000")
    with serve(create_app(*app_parts, {})) as base:
        allowed = preflight(base, "https://portal.example.org")
        refused = preflight(base, "https://evil.example.com")
        simple = httpx.get(base + "/openapi.json", headers={"Origin": "https://evil.example.com"}, timeout=30)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize("value", ["*", "https://portal.example.org/app", "portal.example.org"])
def test_loose_cors_settings_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="EDI_API_CORS_ORIGINS.*no wildcard"):
        cors_origins({"EDI_API_CORS_ORIGINS": f"https://ok.example.org,{value}"})


# -- TLS ---------------------------------------------------------------------------------------


def test_edi_api_serves_https(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    ring = KeyRing({"k1": base64.b64decode(generate_key())}, "k1").to_json()
    env = {**os.environ, "EDI_DATA_DIR": str(tmp_path / "data"), "EDI_MASTER_KEYS": ring, "PYTHONPATH": str(ROOT)}
    for name in ("EDI_MASTER_KEYS_FILE", "EDI_DATABASE_URL", "EDI_PAYLOAD_URL", "EDI_PARTNERS_FILE", "EDI_AUTH_ISSUER"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "edi", "api", "--port", "0", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "edi api did not announce its URL"
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("api: https://127.0.0.1:"), line + (process.stderr.read() if process.poll() else "")
        url = line.split()[1]
        answer = httpx.get(url + "/openapi.json", verify=ssl.create_default_context(cafile=str(cert)), timeout=30)
        assert answer.status_code == 200 and answer.json()["info"]["title"] == "EDI engine"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url + "/openapi.json", timeout=30)  # an untrusted certificate is not accepted
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https://", "http://") + "/openapi.json", timeout=30)  # no plain HTTP there
    finally:
        process.terminate()
        process.wait(30)


def test_edi_api_wants_both_certificate_and_key(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "edi", "api", "--ssl-certfile", str(tmp_path / "c.pem")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "both --ssl-certfile and --ssl-keyfile" in result.stderr


def test_edi_run_serves_its_api_over_https(tmp_path: Path) -> None:
    """The whole embedded stack with --ssl-certfile/--ssl-keyfile: a real TLS request with the demo
    API key is answered; plain HTTP on that port is not."""
    cert, key = self_signed(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDI_")}
    env.update({"EDI_DATA_DIR": str(tmp_path / "data"), "EDI_SFTP_DOOR_PORT": "0", "PYTHONPATH": str(ROOT)})
    process = subprocess.Popen(
        [sys.executable, "-m", "edi", "run", "--port", "0", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        while not any(line.startswith("ready") for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, f"edi run did not start: {lines}"
            time.sleep(0.2)
        url = next(line.split()[1] for line in lines if line.startswith("api:"))
        api_key = next(line.split()[2] for line in lines if line.startswith("api key:"))
        assert url.startswith("https://127.0.0.1:"), lines
        trusted = ssl.create_default_context(cafile=str(cert))
        listed = httpx.get(url + "/transactions", headers={"Authorization": f"Bearer {api_key}"}, verify=trusted,
                           timeout=30)
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url + "/openapi.json", timeout=30)
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https://", "http://") + "/openapi.json", timeout=30)
    finally:
        process.terminate()
        process.wait(60)


def test_edi_run_wants_both_certificate_and_key(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "edi", "run", "--ssl-keyfile", str(tmp_path / "k.pem")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "both --ssl-certfile and --ssl-keyfile" in result.stderr


# -- secrets -------------------------------------------------------------------------------------


def test_no_command_takes_a_secret_on_its_command_line() -> None:
    """Command lines are visible to every user of the machine (ps, /proc): secrets are passed as
    the name of an environment variable or a file, never as the value itself."""
    import typer.main

    from edi.cli import app

    def commands(group: object, prefix: str = "") -> Iterator[tuple[str, object]]:
        for name, command in getattr(group, "commands", {}).items():
            yield f"{prefix}{name}", command
            yield from commands(command, f"{prefix}{name} ")

    secretive = ("password", "secret", "token", "api-key", "credential", "master-key", "passphrase")
    offenders = []
    for name, command in commands(typer.main.get_command(app)):
        for parameter in getattr(command, "params", []):
            for option in getattr(parameter, "opts", []):
                lowered = option.lower()
                if any(word in lowered for word in secretive) and not lowered.endswith(("-env", "-file", "-keyfile")):
                    offenders.append(f"edi {name} {option}")
    assert offenders == []
