"""OpenPGP for files exchanged with submitters and partners, on the local ``gpg`` (python-gnupg).

Why it is built this way:

* One keyring is one private GNUPGHOME in a fresh temporary folder (mode 0700), holding our
  private key and the public keys of the configured peers, imported by their configured
  fingerprint. Nothing of the operator's own ``~/.gnupg`` is read, nothing is fetched from key
  servers (``no-auto-key-retrieve``), and the folder and its gpg-agent go away with `close`.
* Trust is decided here, not by gpg's web of trust: an inbound file is taken only when it was
  encrypted to our key and signed by exactly the key configured for its sender
  (``trust-model always`` merely lets gpg encrypt to an uncertified key we imported ourselves).
* Passphrases reach gpg through the agent's loopback pinentry, never on a command line.
* Every refusal says what is wrong with the file in terms a sender can act on; none repeats any
  of the content, and gpg's own text (which may quote user ids) is never passed on.
* Each operation is its own gpg process; key imports are serialised, so one keyring can be used
  from many threads (the doors' and the workers').
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import gnupg

from edi.partners import MissingSecretError, PartnersConfig, PgpSettings, SecretRef

__all__ = [
    "PGP_SUFFIXES",
    "PgpError",
    "PgpKeyring",
    "PgpPeers",
    "PgpRefusedError",
    "inner_name",
    "looks_like_pgp",
    "pgp_from_config",
]

log = logging.getLogger(__name__)

#: File name endings that mark a PGP file; the name without them is the content's own name.
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
_ARMOR = b"-----BEGIN PGP MESSAGE-----"
_FINGERPRINT = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
_STATUS = "[GNUPG:] "


class PgpError(Exception):
    """PGP cannot work as configured (a key missing or unusable, gpg failing): an operator's problem."""


class PgpRefusedError(ValueError):
    """An inbound file is refused: the message says why, for the sender, without any content."""


def looks_like_pgp(data: bytes) -> bool:
    """Is `data` an OpenPGP encrypted message, armored or binary?

    Binary messages start with a public-key or symmetric-key encrypted session key packet
    (tags 1 and 3, old or new packet format); text formats we take (X12, JSON, CSV, a UTF-8 BOM)
    never start like that.
    """
    head = data[:64].lstrip()
    if head.startswith(_ARMOR):
        return True
    if len(data) < 4 or not data[0] & 0x80:
        return False
    first = data[0]
    if first & 0x40:  # new packet format
        tag, octet = first & 0x3F, data[1]
        if octet < 192:
            length, start = octet, 2
        elif octet < 224:
            length, start = ((octet - 192) << 8) + data[2] + 192, 3
        elif octet == 255:
            length, start = int.from_bytes(data[2:6], "big"), 6
        else:
            return False  # a session key packet never has a partial length
    else:
        tag, width = (first >> 2) & 0x0F, (1, 2, 4, 0)[first & 3]
        if not width:
            return False
        length, start = int.from_bytes(data[1:1 + width], "big"), 1 + width
    if start >= len(data) or start + length > len(data) or length < 4:
        return False
    version = data[start]
    return (tag == 1 and version in (3, 6)) or (tag == 3 and version in (4, 5, 6))


def inner_name(name: str) -> str:
    """``claims.csv.pgp`` -> ``claims.csv``: the name the decrypted content is known by."""
    lowered = name.lower()
    for suffix in PGP_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _fingerprint(value: str) -> str:
    fpr = value.replace(" ", "").upper()
    if not _FINGERPRINT.match(fpr):
        raise PgpError("a key fingerprint is 40 (v4) or 64 (v5) hexadecimal digits")
    return fpr


@dataclasses.dataclass(slots=True)
class _Status:
    """What gpg said about one decryption, from its machine-readable status lines."""

    decrypted: bool = False
    no_secret_key: bool = False
    failed: bool = False
    no_data: bool = False
    good: list[str] = dataclasses.field(default_factory=list)  # primary fingerprints of good signatures
    bad: int = 0
    unknown_signer: int = 0
    expired_or_revoked: int = 0
    other_error: int = 0

    @classmethod
    def parse(cls, stderr: str) -> _Status:
        status = cls()
        for line in stderr.splitlines():
            if not line.startswith(_STATUS):
                continue
            keyword, *args = line[len(_STATUS):].split()
            if keyword == "DECRYPTION_OKAY":
                status.decrypted = True
            elif keyword in ("DECRYPTION_FAILED", "BADMDC"):
                status.failed = True
            elif keyword == "NO_SECKEY":
                status.no_secret_key = True
            elif keyword == "NODATA":
                status.no_data = True
            elif keyword == "VALIDSIG" and args:
                status.good.append((args[9] if len(args) > 9 else args[0]).upper())
            elif keyword == "BADSIG":
                status.bad += 1
            elif keyword in ("EXPSIG", "EXPKEYSIG", "REVKEYSIG"):
                status.expired_or_revoked += 1
            elif keyword == "ERRSIG":
                # ERRSIG <keyid> <pkalgo> <hashalgo> <sig_class> <time> <rc> [<fpr>]; rc 9: no public key
                if len(args) > 5 and args[5] == "9":
                    status.unknown_signer += 1
                else:
                    status.other_error += 1
        return status


class PgpKeyring:
    """A private gpg home with our key pair and the peers' public keys. See the module docstring."""

    def __init__(self, *, gpg_binary: str = "gpg", home: Path | str | None = None) -> None:
        self.home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="edi-gpg-"))
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        (self.home / "gpg.conf").write_text("trust-model always\nno-auto-key-retrieve\nno-auto-key-locate\n"
                                            "no-emit-version\nno-comments\n")
        (self.home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
        try:
            # gpg's messages in English: the one about --max-output has no status line of its own
            env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
            self._gpg = gnupg.GPG(gpgbinary=gpg_binary, gnupghome=str(self.home), env=env)
        except (OSError, ValueError, RuntimeError) as error:
            shutil.rmtree(self.home, ignore_errors=True)
            raise PgpError(f"gpg cannot be run ({type(error).__name__}); is GnuPG installed?") from None
        self._gpg.encoding = "utf-8"
        self._binary = gpg_binary
        self._lock = threading.RLock()
        self._own: str | None = None
        self._passphrase: str | None = None
        self._peers: set[str] = set()
        self._finalizer = weakref.finalize(self, _remove_home, str(self.home))

    # -- keys ------------------------------------------------------------------------------------

    @property
    def own_fingerprint(self) -> str | None:
        return self._own

    def set_own_key(self, private_key: str | bytes, passphrase: str | None) -> str:
        """Import our private key (armored or binary); returns its fingerprint.

        The key must be able to sign and to decrypt; the passphrase is checked now, by a signature,
        so a wrong one stops the start rather than the first file."""
        with self._lock:
            before = {k["fingerprint"] for k in self._gpg.list_keys(secret=True)}
            result = self._gpg.import_keys(private_key, passphrase=passphrase)
            secret = [k["fingerprint"] for k in self._gpg.list_keys(secret=True)]
            new = [f for f in secret if f not in before]
            if not result or not new:
                raise PgpError("our PGP private key could not be imported (not a private key, or damaged)")
            if len(new) != 1:
                raise PgpError("the PGP private key file holds more than one key; give exactly one")
            fpr = new[0].upper()
            self._own, self._passphrase = fpr, passphrase
        probe = self._gpg.sign(b"probe", keyid=fpr, passphrase=passphrase, detach=True)
        if not probe:
            raise PgpError("our PGP private key cannot sign: wrong passphrase, or a key without signing capability")
        return fpr

    def import_public_key(self, key: str | bytes, fingerprint: str) -> str:
        """Import a peer's public key, refusing it unless it is the key of `fingerprint`.

        Only the configured key is kept: a file holding other keys too imports nothing else."""
        fpr = _fingerprint(fingerprint)
        with self._lock:
            result = self._gpg.import_keys(key)
            imported = {(r.get("fingerprint") or "").upper() for r in result.results}
            for other in imported - {fpr, ""}:
                if other != self._own and other not in self._peers:
                    self._gpg.delete_keys(other)
            if fpr not in {k["fingerprint"].upper() for k in self._gpg.list_keys()}:
                raise PgpError(f"the public key given holds no usable key with fingerprint {fpr}")
            self._peers.add(fpr)
        return fpr

    # -- messages --------------------------------------------------------------------------------

    def open_inbound(self, data: bytes, expected_signer: str | None, *, require_signature: bool = True,
                     max_bytes: int | None = None) -> bytes:
        """The plaintext of a message encrypted to us and signed by `expected_signer`.

        Raises `PgpRefusedError` when it is not for us, damaged, unsigned (with
        `require_signature`), signed by another key or badly signed. `max_bytes` caps the
        plaintext (a compressed message can expand enormously)."""
        if self._own is None:
            raise PgpError("no private key of ours is configured: set EDI_PGP_PRIVATE_KEY[_FILE]")
        expected = _fingerprint(expected_signer) if expected_signer else None
        args = ["--max-output", str(max_bytes)] if max_bytes else []
        result = self._gpg.decrypt(data, passphrase=self._passphrase, extra_args=args)
        status = _Status.parse(result.stderr or "")
        if max_bytes and "exceeded --max-output" in (result.stderr or ""):
            # gpg still reports DECRYPTION_OKAY, with the plaintext cut short
            raise PgpRefusedError(f"the decrypted file is larger than {max_bytes} bytes; split it")
        if status.bad:  # gpg stops at a bad signature, before it reports the decryption
            raise PgpRefusedError("the file has a bad signature: it was altered after signing, or signed "
                                  "wrongly; send it again")
        if not status.decrypted or status.failed:
            if status.no_secret_key and not status.failed:
                raise PgpRefusedError("the file is not encrypted for our key; encrypt it with our current "
                                      "public key") from None
            if status.no_data:
                raise PgpRefusedError("the file is not a PGP message (no encrypted data found)")
            if status.no_secret_key:
                raise PgpRefusedError("the file is not encrypted for our key; encrypt it with our current "
                                      "public key")
            raise PgpRefusedError("the file could not be decrypted: it is damaged or was altered on the way")
        if status.unknown_signer:
            raise PgpRefusedError("the file is signed by a key we do not know; sign it with the key "
                                  "configured for you")
        if status.expired_or_revoked:
            raise PgpRefusedError("the file is signed by an expired or revoked key")
        if status.other_error:
            raise PgpRefusedError("the file's signature could not be checked (unsupported or malformed)")
        if not status.good:
            if require_signature:
                raise PgpRefusedError("the file is encrypted but not signed; sign it with the key configured "
                                      "for you")
            return bytes(result.data)
        if expected is None or any(fpr != expected for fpr in status.good):
            other = next((f for f in status.good if f != expected), status.good[0])
            raise PgpRefusedError(f"the file is signed by key {other}, not by the key configured for you")
        return bytes(result.data)

    def seal_outbound(self, data: bytes, recipient: str, *, armor: bool = True) -> bytes:
        """`data` encrypted to `recipient` (a fingerprint we imported) and signed by us."""
        fpr = _fingerprint(recipient)
        if fpr not in self._peers:
            raise PgpError(f"no public key with fingerprint {fpr} was imported")
        if self._own is None:
            raise PgpError("no private key of ours is configured: set EDI_PGP_PRIVATE_KEY[_FILE]")
        result = self._gpg.encrypt(data, [fpr], sign=self._own, passphrase=self._passphrase, armor=armor,
                                   always_trust=True)
        if not result.ok:
            status = str(result.status or "failed")
            raise PgpError(f"encrypting for {fpr} failed ({status}); is the key expired or without an "
                           "encryption subkey?")
        return bytes(result.data)

    # -- life --------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the keyring's gpg-agent and delete the folder (keys included)."""
        self._finalizer()

    def __enter__(self) -> PgpKeyring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _remove_home(home: str) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, timeout=10,
                       check=False)
    shutil.rmtree(home, ignore_errors=True)


class PgpPeers:
    """The peers of one kind (submitters, or partners) with their PGP settings, over one keyring."""

    def __init__(self, keyring: PgpKeyring, settings: Mapping[str, PgpSettings]) -> None:
        self.keyring = keyring
        self.settings = dict(settings)

    def configured(self, peer: str) -> bool:
        return peer in self.settings

    def wants_open(self, peer: str, name: str, data: bytes) -> bool:
        """Is this file to be decrypted? A PGP file name or PGP content; for an unconfigured peer,
        only PGP content (which `open` then refuses clearly)."""
        if looks_like_pgp(data):
            return True
        return self.configured(peer) and inner_name(name) != name

    def open(self, peer: str, name: str, data: bytes, *, max_bytes: int | None = None) -> tuple[str, bytes]:
        """(name without its PGP suffix, plaintext); raises `PgpRefusedError`."""
        settings = self.settings.get(peer)
        if settings is None:
            raise PgpRefusedError("the file is PGP-encrypted, but no PGP key is configured for you; send it "
                                  "unencrypted or ask for your key to be configured")
        plain = self.keyring.open_inbound(data, settings.fingerprint, require_signature=settings.require_signature,
                                          max_bytes=max_bytes)
        return inner_name(name), plain

    def seal(self, peer: str | None, name: str, body: bytes) -> tuple[str, bytes]:
        """(``name.pgp``, sealed body) for a peer with a key; (name, body) unchanged otherwise."""
        settings = self.settings.get(peer) if peer is not None else None
        if settings is None:
            return name, body
        return f"{name}.pgp", self.keyring.seal_outbound(body, settings.fingerprint, armor=settings.armor)


Kind = Literal["submitters", "partners"]


def pgp_from_config(config: PartnersConfig, private_key: SecretRef | None, passphrase: SecretRef | None = None,
                    *, environ: Mapping[str, str] | None = None, gpg_binary: str = "gpg",
                    ) -> tuple[PgpKeyring, PgpPeers, PgpPeers] | None:
    """The keyring and the (submitters, partners) peers for a configuration; None when no peer
    has a ``pgp`` section. Raises `PgpError` naming the place of a problem (never a value)."""
    peers: dict[Kind, dict[str, PgpSettings]] = {
        "submitters": {k: s.pgp for k, s in config.submitters.items() if s.pgp is not None},
        "partners": {k: p.pgp for k, p in config.partners.items() if p.pgp is not None},
    }
    if not peers["submitters"] and not peers["partners"]:
        return None
    if private_key is None:
        raise PgpError("PGP is configured for a peer, but our private key is not: set EDI_PGP_PRIVATE_KEY or "
                       "EDI_PGP_PRIVATE_KEY_FILE")
    keyring = PgpKeyring(gpg_binary=gpg_binary)
    try:
        try:
            key = private_key.resolve(environ)
            secret = passphrase.resolve(environ) if passphrase is not None else None
        except MissingSecretError as error:
            raise PgpError(str(error)) from None
        keyring.set_own_key(key, secret)
        for kind, entries in peers.items():
            for peer, settings in entries.items():
                where = f"{kind}.{peer}.pgp.public_key"
                try:
                    keyring.import_public_key(settings.public_key.resolve(environ), settings.fingerprint)
                except MissingSecretError as error:
                    raise PgpError(f"{where}: {error}") from None
                except PgpError as error:
                    raise PgpError(f"{where}: {error}") from None
    except BaseException:
        keyring.close()
        raise
    return keyring, PgpPeers(keyring, peers["submitters"]), PgpPeers(keyring, peers["partners"])
