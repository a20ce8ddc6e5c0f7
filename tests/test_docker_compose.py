"""docker/compose.yaml and docker/Dockerfile against the code: no Docker engine needed.

Every service built from the application image runs one ``edi`` subcommand with options that
subcommand has; every ``EDI_*`` variable it sets is one the code reads; what it mounts from
``docker/config`` exists and loads; and the image's entry point is the ``edi`` CLI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from connectors.sftp import SftpHostKeyError, SftpMailboxClient
from edi.cli import app
from edi.partners import SecretRef, SftpTransport, load_partners

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
SOURCE_DIRS = (ROOT / "edi", ROOT / "connectors")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def uses_app_image(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if isinstance(build, dict):
        return Path(build.get("dockerfile", "Dockerfile")).name == "Dockerfile"
    return build is not None


APP_SERVICES = sorted(name for name, service in services().items() if uses_app_image(service))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def cli_commands() -> dict[str, Any]:
    """The ``edi`` subcommands as click commands (typer vendors its own click: duck-typed below)."""
    return get_command(app).commands


def check_arguments(command: Any, args: list[str]) -> list[str]:
    """What in ``args`` the click command would refuse: unknown options, missing values."""
    options: dict[str, Any] = {}
    positional = 0
    for param in command.params:
        if param.param_type_name == "option":
            for name in (*param.opts, *param.secondary_opts):
                options[name] = param
        elif param.param_type_name == "argument":
            positional += 1 if param.nargs == 1 else 1_000
    problems: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token.startswith("-") and token != "-":
            name, has_value, _ = token.partition("=")
            param = options.get(name)
            if param is None:
                problems.append(f"unknown option {name}")
                continue
            takes_value = not (param.is_flag or param.count)
            if takes_value and not has_value and next(tokens, None) is None:
                problems.append(f"option {name} needs a value")
            if not takes_value and has_value:
                problems.append(f"flag {name} takes no value")
        else:
            positional -= 1
            if positional < 0:
                problems.append(f"unexpected argument {token!r}")
    return problems


def source_text() -> str:
    return "\n".join(path.read_text(errors="replace") for d in SOURCE_DIRS for path in d.rglob("*.py"))


def test_the_app_services_are_there() -> None:
    assert {"api", "worker", "payer-sim", "migrate"} <= set(APP_SERVICES)
    assert {"rabbitmq", "postgres"} <= set(services())


@pytest.mark.parametrize("name", APP_SERVICES)
def test_command_is_an_edi_subcommand_with_its_options(name: str) -> None:
    command = services()[name].get("command")
    assert isinstance(command, list) and command, f"{name}: give the command in the list form"
    assert all(isinstance(part, str) for part in command), f"{name}: quote every word of the command"
    subcommands = cli_commands()
    assert command[0] in subcommands, f"{name}: `edi {command[0]}` is not a command (have: {sorted(subcommands)})"
    assert check_arguments(subcommands[command[0]], command[1:]) == [], name


def test_the_argument_checker_refuses_what_click_refuses() -> None:
    payer_sim = cli_commands()["payer-sim"]
    assert check_arguments(payer_sim, ["--roster", "r.yaml", "--rules", "x.yaml"]) == []
    assert check_arguments(payer_sim, ["--no-such-option", "1"]) == ["unknown option --no-such-option",
                                                                     "unexpected argument '1'"]
    assert check_arguments(payer_sim, ["--port"]) == ["option --port needs a value"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_edi_variable_is_one_the_code_reads(name: str) -> None:
    code = source_text()
    service = services()[name]
    used = {key for key in environment(service) if key.startswith("EDI_")}
    used |= set(re.findall(r"\$\{?(EDI_[A-Z0-9_]+)", json.dumps(service)))
    unknown = sorted(var for var in used if not re.search(rf"\b{var}\b", code))
    assert unknown == [], f"{name}: no code reads {unknown}"


def test_the_pipeline_services_are_configured_by_environment_only() -> None:
    for name in ("api", "worker", "migrate"):
        env = environment(services()[name])
        assert env["EDI_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert env["EDI_BROKER_URL"].startswith("amqp://"), name
        assert env["EDI_PAYLOAD_URL"] == "file:///data/payloads", name
        assert env["EDI_PARTNERS_FILE"] == "/config/partners.yaml", name
        assert env["EDI_DATA_DIR"] == "/data", name
        secret = env["EDI_MASTER_KEYS_FILE"]
        assert secret.startswith("/run/secrets/"), name
        assert secret.removeprefix("/run/secrets/") in (services()[name].get("secrets") or []), name


def test_depends_on_names_services_with_valid_conditions() -> None:
    all_services = services()
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in all_services.items():
        depends = service.get("depends_on") or {}
        targets = depends if isinstance(depends, dict) else {target: {} for target in depends}
        for target, spec in targets.items():
            assert target in all_services, f"{name} depends on unknown service {target}"
            assert target != name
            condition = (spec or {}).get("condition", "service_started")
            assert condition in conditions, f"{name} -> {target}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in all_services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert all_services[target].get("restart", "no") == "no", f"{target} must be one-shot"


def test_the_stack_shape() -> None:
    all_services = services()
    assert all_services["worker"]["deploy"]["replicas"] == 2
    assert all_services["migrate"]["command"] == ["migrate"]
    for name in ("api", "worker", "payer-sim"):
        condition = all_services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert all_services["rabbitmq"]["image"].startswith("rabbitmq:3-management")
    assert all_services["postgres"]["image"] == "postgres:16"


def test_named_volumes_and_secrets_are_declared() -> None:
    document = compose()
    volumes = set(document.get("volumes") or {})
    secrets = document.get("secrets") or {}
    for name, service in document["services"].items():
        for mount in service.get("volumes") or []:
            source = (mount if isinstance(mount, str) else mount.get("source", "")).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists() or source.startswith("/"), f"{name}: {source} is missing"
            else:
                assert source in volumes, f"{name}: volume {source} is not declared"
        for secret in service.get("secrets") or []:
            assert (secret if isinstance(secret, str) else secret["source"]) in secrets, name


def test_mounted_config_files_exist_and_load() -> None:
    all_services = services()
    for name in APP_SERVICES:
        service = all_services[name]
        mounted = [str(m) for m in service.get("volumes") or []]
        words = [*service["command"], *environment(service).values()]
        for word in words:
            if word.startswith("/config/"):
                assert any(m.split(":")[1] == "/config" for m in mounted), f"{name} does not mount /config"
                assert (DOCKER / "config" / word.removeprefix("/config/")).is_file(), f"{name}: {word}"
    env = environment(all_services["worker"])
    config = load_partners(DOCKER / "config" / "partners.yaml", environ=env)
    (partner,) = config.partners.values()
    assert str(partner.transport.core_soap.url) == "http://payer-sim:8081/core"
    assert (partner.transport.sftp.host, partner.transport.sftp.port) == ("payer-sim", 2222)
    known_hosts = str(partner.transport.sftp.known_hosts)  # the simulator's host key is verified
    assert known_hosts.removeprefix("/run/secrets/") in (all_services["worker"].get("secrets") or []), known_hosts
    sim_command = all_services["payer-sim"]["command"]
    host_key = sim_command[sim_command.index("--sftp-host-key") + 1]
    assert host_key.removeprefix("/run/secrets/") in (all_services["payer-sim"].get("secrets") or []), host_key
    for ref in (partner.transport.sftp.password, *(s.signing_secret for s in config.submitters.values())):
        if ref is not None:
            ref.resolve(env)  # the variables it names are set for the workers


def test_the_dockerfile_entry_point_is_the_edi_cli() -> None:
    text = DOCKERFILE.read_text()
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    (base,) = [line.split()[1] for line in instructions if line.upper().startswith("FROM ")]
    assert base == "python:3.11-slim"
    (entry,) = [line for line in instructions if line.upper().startswith("ENTRYPOINT")]
    assert json.loads(entry.split(None, 1)[1]) == ["edi"]
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(re.search(r"pip install \.(\s|$)", line) for line in instructions)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^edi = "edi\.cli:', pyproject, re.MULTILINE), "the `edi` console script"


def _sim_sftp(secrets: Path, mailbox: Path, password: str) -> tuple[subprocess.Popen[str], int]:
    """`edi payer-sim` as compose runs it (its host key from the secret), on a free loopback port."""
    env = {**os.environ, "SIM_SFTP_PASSWORD": password}
    fixtures = ROOT / "docker" / "config"
    process = subprocess.Popen(
        [sys.executable, "-m", "edi", "payer-sim", "--roster", str(fixtures / "roster.yaml"),
         "--rules", str(fixtures / "rules.yaml"), "--mailbox", str(mailbox), "--sftp-port", "0",
         "--sftp-user", "submitter01", "--sftp-password-env", "SIM_SFTP_PASSWORD",
         "--sftp-host-key", str(secrets / "sim_host_key")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    for _ in range(2):
        line = process.stdout.readline()
        if line.startswith("sftp: "):
            return process, int(line.rsplit(":", 1)[1])
    process.kill()
    raise AssertionError(f"payer-sim printed no SFTP address: {process.stderr.read() if process.stderr else ''}")


def test_init_secrets_gives_the_workers_the_simulators_host_key(tmp_path: Path) -> None:
    """docker/init-secrets.sh: the workers' known_hosts trusts exactly the key payer-sim serves."""
    secrets = tmp_path / "secrets"
    subprocess.run(["bash", str(DOCKER / "init-secrets.sh"), str(secrets)], check=True, capture_output=True)
    keys = json.loads((secrets / "master_keys.json").read_text())
    assert keys["current"] in keys["keys"]
    (line,) = (secrets / "sim_known_hosts").read_text().splitlines()
    assert line.split()[0] == "[payer-sim]:2222", "compose's host name and SFTP port"
    first = (secrets / "sim_host_key").read_bytes()
    subprocess.run(["bash", str(DOCKER / "init-secrets.sh"), str(secrets)], check=True, capture_output=True)
    assert (secrets / "sim_host_key").read_bytes() == first, "re-running never replaces a key"

    process, port = _sim_sftp(secrets, tmp_path / "mailbox", "pw-1")
    try:
        trusted = tmp_path / "known_hosts"
        trusted.write_text(line.replace("[payer-sim]:2222", f"[127.0.0.1]:{port}") + "\n")
        settings = SftpTransport(host="127.0.0.1", port=port, username="submitter01",
                                 password=SecretRef(env="PW"), known_hosts=trusted)
        with SftpMailboxClient(settings, environ={"PW": "pw-1"}) as client:
            assert client.list_outbound() == []
        other = tmp_path / "other"
        subprocess.run(["bash", str(DOCKER / "init-secrets.sh"), str(other)], check=True, capture_output=True)
        stranger = tmp_path / "stranger_hosts"
        stranger.write_text((other / "sim_known_hosts").read_text().replace("[payer-sim]:2222", f"[127.0.0.1]:{port}"))
        settings = settings.model_copy(update={"known_hosts": stranger})
        with pytest.raises(SftpHostKeyError), SftpMailboxClient(settings, environ={"PW": "pw-1"}) as client:
            client.list_outbound()
    finally:
        process.terminate()
        process.wait(10)
