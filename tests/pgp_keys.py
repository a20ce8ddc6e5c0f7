"""Test OpenPGP keys made with the real gpg in a scratch home (ed25519 signing, cv25519 encryption)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from connectors.pgp import PgpKeyring

try:  # OpenPGP's CFB lives among the "decrepit" modes from cryptography 47 on
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

PLAIN = b'{"kind": "eligibility", "note": "not PHI, test text"}\n'


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


def bad_signature_message(ours: PgpKeyring, signer: PgpKeyring, recipient: str, plain: bytes = PLAIN,
                          marker: bytes = b"not PHI") -> bytes:
    """A message encrypted to `recipient` whose signed content was changed after signing.

    gpg never writes one, so it is built: the signer's signed (uncompressed) message with one
    byte of its text changed, encrypted with a session key taken from a real message to us
    (its PKESK packet is reused; SEIPD v1 is AES-CFB with a zero IV, a prefix and an MDC)."""
    signed = signer._gpg.sign(plain, keyid=signer.own_fingerprint, passphrase=None,
                              extra_args=["--compress-algo", "none"], binary=True, clearsign=False)
    body = bytes(signed.data)
    assert body.count(marker) == 1
    tampered = body.replace(marker, marker.swapcase())
    carrier = signer._gpg.encrypt(b"carrier", [recipient], always_trust=True, armor=False,
                                  extra_args=["--cipher-algo", "AES256"])
    data = bytes(carrier.data)
    shown = ours._gpg.decrypt(data, passphrase=ours._passphrase, extra_args=["--show-session-key"])
    found = re.search(r"SESSION_KEY 9:([0-9A-F]+)", shown.stderr)
    assert found, "gpg did not show an AES-256 session key"
    session_key = bytes.fromhex(found.group(1))
    pkesk = data[: _packet_length(data)]
    prefix = os.urandom(16)
    clear = prefix + prefix[-2:] + tampered + b"\xd3\x14"
    clear += hashlib.sha1(clear).digest()
    encryptor = Cipher(algorithms.AES(session_key), CFB(b"\0" * 16)).encryptor()
    seipd = b"\x01" + encryptor.update(clear) + encryptor.finalize()
    return pkesk + b"\xd2\xff" + len(seipd).to_bytes(4, "big") + seipd


def _packet_length(data: bytes) -> int:
    first = data[0]
    if first & 0x40:  # new format
        octet = data[1]
        if octet < 192:
            return 2 + octet
        if octet < 224:
            return 3 + ((octet - 192) << 8) + data[2] + 192
        return 6 + int.from_bytes(data[2:6], "big")
    width = (1, 2, 4)[first & 3]
    return 1 + width + int.from_bytes(data[1:1 + width], "big")
