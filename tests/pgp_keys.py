"""Test OpenPGP keys made with the real gpg in a scratch home (ed25519 signing, cv25519 encryption)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestKey:
    __test__ = False  # not a pytest class

    uid: str
    fingerprint: str
    public: str  # armored
    secret: str  # armored, protected by `passphrase` (or not, when it is "")
    passphrase: str


def _gpg(home: str, *args: str, passphrase: str | None = None) -> str:
    cmd = ["gpg", "--homedir", home, "--batch", "--no-tty"]
    if passphrase is not None:
        cmd += ["--pinentry-mode", "loopback", "--passphrase", passphrase]
    return subprocess.run([*cmd, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def make_keys(*uids: str, passphrase: str = "") -> dict[str, TestKey]:
    """One key pair per uid; `passphrase` protects every secret key."""
    home = tempfile.mkdtemp(prefix="edi-gpg-test-")
    try:
        keys = {}
        for uid in uids:
            _gpg(home, "--quick-gen-key", f"{uid} <{uid}@example.test>", "future-default", "default", "never",
                 passphrase=passphrase)
            listing = _gpg(home, "--with-colons", "--list-keys", f"<{uid}@example.test>")
            fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
            keys[uid] = TestKey(
                uid=uid, fingerprint=fpr, passphrase=passphrase,
                public=_gpg(home, "--armor", "--export", fpr),
                secret=_gpg(home, "--armor", "--export-secret-keys", fpr, passphrase=passphrase),
            )
        return keys
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def write_public(key: TestKey, folder: Path) -> Path:
    path = folder / f"{key.uid}.asc"
    path.write_text(key.public)
    return path
