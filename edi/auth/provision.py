"""Making credentials for a submitter: an OAuth2 client or an API key, secret shown once.

The secret is generated here, handed back to the operator once, and only its hash goes into the
partners file (scrypt for client secrets, SHA-256 for API keys: an API key is 256 random bits, so
a fast hash cannot be brute-forced, and the API looks it up by hash on every request). With
``write`` the entry is added to the partners file itself; the whole file is validated with the
new entry before it replaces the old one (atomically), so a mistake never leaves a broken file.
YAML comments are not kept by that rewrite, which is why writing is an option: without it the
command prints the entry to paste.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edi.auth.clients import generate_client_secret, hash_client_secret
from edi.auth.scopes import Scope
from edi.partners import parse_partners

__all__ = ["NewCredential", "ProvisionError", "new_api_key", "new_oauth_client"]


class ProvisionError(ValueError):
    """The credential cannot be made as asked (the message holds no secret)."""


@dataclass(frozen=True, slots=True)
class NewCredential:
    secret: str  # show once, never store
    entry: dict[str, Any]  # what goes under the submitter in the partners file
    key: str  # oauth_clients or api_keys_sha256
    written: bool

    def snippet(self, submitter_id: str) -> str:
        value: Any = [self.entry] if self.key == "oauth_clients" else [self.entry["sha256"]]
        return yaml.safe_dump({"submitters": {submitter_id: {self.key: value}}}, sort_keys=False)


def _document(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ProvisionError(f"{path}: cannot be read as YAML ({type(error).__name__})") from None
    if not isinstance(data, dict):
        raise ProvisionError(f"{path}: not a partners file (no mapping at the top)")
    return data


def _submitter(data: dict[str, Any], path: Path, submitter_id: str) -> dict[str, Any]:
    submitters = data.get("submitters")
    if not isinstance(submitters, dict) or not isinstance(submitters.get(submitter_id), dict):
        raise ProvisionError(f"{path}: no submitter {submitter_id!r}")
    return submitters[submitter_id]


def _save(path: Path, data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    parse_partners(text, base_dir=path.resolve().parent, source=str(path))  # refuse to write a broken file
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def new_oauth_client(path: Path, submitter_id: str, client_id: str, scopes: Iterable[str], *,
                     write: bool = False) -> NewCredential:
    """A client of ``submitter_id`` with a fresh secret; added to the file at ``path`` with ``write``."""
    try:
        chosen = [Scope(s).value for s in dict.fromkeys(scopes)]
    except ValueError:
        raise ProvisionError(f"scopes are {', '.join(s.value for s in Scope)}") from None
    if not chosen:
        raise ProvisionError("give at least one --scope")
    data = _document(path)
    submitter = _submitter(data, path, submitter_id)
    taken = {c.get("client_id") for s in data["submitters"].values() if isinstance(s, dict)
             for c in s.get("oauth_clients") or () if isinstance(c, dict)}
    if client_id in taken:
        raise ProvisionError(f"client id {client_id!r} is already configured")
    secret = generate_client_secret()
    entry = {"client_id": client_id, "secret_hash": hash_client_secret(secret), "scopes": chosen}
    if write:
        submitter.setdefault("oauth_clients", []).append(entry)
        _save(path, data)
    return NewCredential(secret, entry, "oauth_clients", write)


def new_api_key(path: Path, submitter_id: str, *, write: bool = False) -> NewCredential:
    """An API key for ``submitter_id``; its SHA-256 added to the file at ``path`` with ``write``."""
    data = _document(path)
    submitter = _submitter(data, path, submitter_id)
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    if write:
        submitter.setdefault("api_keys_sha256", []).append(digest)
        _save(path, data)
    return NewCredential(key, {"sha256": digest}, "api_keys_sha256", write)
