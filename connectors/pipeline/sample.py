"""The sample configuration ``edi run`` and the end-to-end tests use: one partner played by the
embedded payer simulator, one submitter with an API key and a callback -- and, given ``doors_dir``,
a watched folder and an SFTP account on the ingest doors.

Secrets are written to files beside the YAML (mode 0600) and referenced, as in production.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from connectors.delivery.webhooks import new_secret
from connectors.ingest.sftp_server import hash_password

__all__ = ["SampleConfig", "write_sample_config"]

PARTNER_ID = "simplan"
SUBMITTER_ID = "demo-clinic"


@dataclass(frozen=True, slots=True)
class SampleConfig:
    partners_file: Path
    api_key: str
    webhook_secret: str
    sftp_password: str
    door_password: str | None = None  # the sample submitter's password on the SFTP door
    folder_root: Path | None = None  # the sample submitter's watched folder


def _secret_file(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value)


def write_sample_config(
    directory: Path,
    *,
    core_url: str,
    sftp_port: int,
    known_hosts_line: str,
    payer_id: str = "SIMPLAN01",
    callback_url: str | None = None,
    api_key: str | None = None,
    webhook_secret: str | None = None,
    sftp_password: str | None = None,
    window_seconds: float = 2.0,
    max_claims_per_file: int = 5000,
    poll_seconds: float = 1.0,
    doors_dir: Path | None = None,
    door_password: str | None = None,
) -> SampleConfig:
    directory.mkdir(parents=True, exist_ok=True)
    api_key = api_key or "demo-" + secrets.token_urlsafe(24)
    webhook_secret = webhook_secret or new_secret()
    sftp_password = sftp_password or secrets.token_urlsafe(18)
    _secret_file(directory / "webhook.secret", webhook_secret)
    _secret_file(directory / "sftp.password", sftp_password)
    (directory / "known_hosts").write_text(known_hosts_line, encoding="utf-8")
    submitter: dict[str, object] = {
        "name": "Demo clinic",
        "signing_secret": {"file": "webhook.secret"},
        "allowed_callback_hosts": ["127.0.0.1", "localhost"],
        "http_callback_hosts": ["127.0.0.1", "localhost"],
        "allowed_callback_networks": ["127.0.0.0/8", "::1/128"],
        "api_keys_sha256": [hashlib.sha256(api_key.encode()).hexdigest()],
    }
    if callback_url:
        submitter["callback_url"] = callback_url
    folder_root = None
    if doors_dir is not None:
        door_password = door_password or secrets.token_urlsafe(18)
        _secret_file(directory / "door-sftp.password", door_password)
        folder_root = doors_dir / "folder" / SUBMITTER_ID
        submitter["doors"] = {
            "folder": {"root": str(folder_root), "settle_seconds": 1.0, "poll_interval_seconds": 2.0},
            "sftp": {"username": SUBMITTER_ID, "password_hash": hash_password(door_password)},
        }
    config = {
        "partners": {
            PARTNER_ID: {
                "name": "Simulated Health Plan (edi payer-sim)",
                "payer_ids": [payer_id],
                "interchange": {"sender_id": "EDIENGINE", "receiver_id": payer_id, "usage": "T"},
                "transactions": ["270", "837P", "837I"],
                "transport": {
                    "core_soap": {"url": core_url, "sender_id": "EDIENGINE", "receiver_id": payer_id,
                                  "timeout_seconds": 20},
                    "sftp": {"host": "127.0.0.1", "port": sftp_port, "username": "submitter",
                             "password": {"file": "sftp.password"}, "known_hosts": "known_hosts",
                             "inbound_dir": "/inbound", "outbound_dir": "/outbound",
                             "poll_interval_seconds": poll_seconds},
                },
                "batch": {"max_claims_per_transaction_set": 5000, "max_claims_per_file": max_claims_per_file,
                          "window_seconds": window_seconds},
            }
        },
        "submitters": {SUBMITTER_ID: submitter},
    }
    path = directory / "partners.yaml"
    path.write_text("# Written by edi run: the embedded payer simulator as a trading partner.\n"
                    + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return SampleConfig(path, api_key, webhook_secret, sftp_password, door_password, folder_root)
