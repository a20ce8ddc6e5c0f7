"""Where the pipeline keeps its state, from environment variables only (twelve-factor style).

Every process of a deployment (API, workers, ``edi run``) reads the same variables, so one
``.env`` or one compose file configures them all; secrets come from files or the environment,
never from the command line (visible in ``ps``) or from code.

=========================  ==========================================================================
``EDI_DATA_DIR``           local state of the embedded default (``./data``)
``EDI_DATABASE_URL``       the transaction store (``sqlite:///<data>/edi.db``; ``postgresql://...``)
``EDI_PAYLOAD_URL``        encrypted payloads (``file://<data>/payloads``; ``s3://bucket/prefix``)
``EDI_BROKER_URL``         the queues (embedded SQLite broker in the data dir; ``amqp://...``)
``EDI_PARTNERS_FILE``      trading partners and submitters (YAML, see ``edi.partners``)
``EDI_MASTER_KEYS[_FILE]`` the payload key ring (see ``edi.keys``)
``EDI_LOOKUP_KEY[_FILE]``  key ring of the store's CLM01 digests (``edi.lookup``; ``<data>/lookup.key``)
``EDI_PGP_PRIVATE_KEY``    our OpenPGP private key (armored text; ``..._FILE``: a path), for the peers
                           with a ``pgp`` section (``connectors.pgp``)
``EDI_PGP_PASSPHRASE``     its passphrase (``..._FILE``: a path)
=========================  ==========================================================================

The ingest doors (``edi doors``; which submitter uses which door is in the partners file) read
server-level settings only; ``DoorSettings``:

=============================  ======================================================================
``EDI_SFTP_DOOR_HOST``         the submitters' SFTP server listens here (``127.0.0.1``; ``0.0.0.0``)
``EDI_SFTP_DOOR_PORT``         its port (``2222``; ``0``: any free port)
``EDI_SFTP_DOOR_HOST_KEY``     its ed25519 host key, made when missing (``<data>/doors/sftp_host_key``)
``EDI_SFTP_DOOR_ROOT``         the submitters' homes (``<data>/doors/sftp``)
``EDI_S3_ENDPOINT_URL``        an S3-compatible endpoint (MinIO, moto); unset: AWS
``EDI_S3_REGION``              region for S3 and SQS (``us-east-1``)
``EDI_DOORS_AMQP_URL``         the submitters' AMQP broker (default ``EDI_BROKER_URL`` if AMQP)
``EDI_DOORS_STOMP_URL``        ActiveMQ's STOMP connector for JMS: ``stomp://[user:pass@]host:61613``
``EDI_DOORS_MAX_BYTES``        the largest file or message a door takes (256 MiB)
``EDI_DOORS_ID``               this door process's id in S3 claims (stable across restarts)
=============================  ======================================================================
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edi.keys import ENV_KEYS, ENV_KEYS_FILE, KeyRing, generate_key
from edi.lookup import LookupKey
from edi.partners import SecretRef

__all__ = ["DoorSettings", "Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    payload_url: str
    broker_url: str | None  # None: the embedded broker in the data dir
    partners_file: Path | None
    pgp_private_key: SecretRef | None = None  # a reference to the secret, never its value
    pgp_passphrase: SecretRef | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data = Path(env.get("EDI_DATA_DIR") or "data").resolve()
        partners = env.get("EDI_PARTNERS_FILE")
        return cls(
            data_dir=data,
            database_url=env.get("EDI_DATABASE_URL") or f"sqlite:///{data / 'edi.db'}",
            payload_url=env.get("EDI_PAYLOAD_URL") or (data / "payloads").as_uri(),
            broker_url=env.get("EDI_BROKER_URL") or None,
            partners_file=Path(partners) if partners else None,
            pgp_private_key=_secret_ref(env, "EDI_PGP_PRIVATE_KEY"),
            pgp_passphrase=_secret_ref(env, "EDI_PGP_PASSPHRASE"),
        )

    def keyring(self, environ: Mapping[str, str] | None = None, *, create: bool = False) -> KeyRing:
        """The configured key ring; with ``create`` and none configured, one kept in the data dir
        (``master.keys``, mode 0600) -- the embedded default, not for production."""
        env = os.environ if environ is None else environ
        if env.get(ENV_KEYS) or env.get(ENV_KEYS_FILE):
            return KeyRing.from_env(env)
        path = self.data_dir / "master.keys"
        if path.exists():
            return KeyRing.from_file(path)
        if not create:
            return KeyRing.from_env(env)  # raises: says which variables to set
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ring = KeyRing({"k1": base64.b64decode(generate_key())}, "k1")
        ring.save(path)
        return ring


    def lookup_key(self, environ: Mapping[str, str] | None = None) -> LookupKey:
        """The key ring of the store's lookup digests (``edi.lookup``): ``EDI_LOOKUP_KEY[_FILE]``,
        else ``lookup.key`` in the data dir (made on first use)."""
        return LookupKey.load(self.data_dir, environ)


def _secret_ref(env: Mapping[str, str], name: str) -> SecretRef | None:
    """``NAME`` (the value itself) or ``NAME_FILE`` (a path to it), as a reference; both is an error."""
    inline, path = env.get(name), env.get(f"{name}_FILE")
    if inline and path:
        raise ValueError(f"set {name} or {name}_FILE, not both")
    if path:
        return SecretRef(file=Path(path))
    return SecretRef(env=name) if inline else None
@dataclass(frozen=True, slots=True)
class DoorSettings:
    """Where the ingest doors listen and which servers they use (see the module docstring)."""

    sftp_host: str = "127.0.0.1"
    sftp_port: int = 2222
    sftp_host_key: Path = Path("data/doors/sftp_host_key")
    sftp_root: Path = Path("data/doors/sftp")
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    amqp_url: str | None = None
    stomp_url: str | None = field(default=None, repr=False)  # may carry a password
    max_bytes: int = 256 << 20
    door_id: str = "doors"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DoorSettings:
        env = os.environ if environ is None else environ
        data = Path(env.get("EDI_DATA_DIR") or "data").resolve()
        broker = env.get("EDI_BROKER_URL") or ""
        try:
            port = int(env.get("EDI_SFTP_DOOR_PORT") or 2222)
            max_bytes = int(env.get("EDI_DOORS_MAX_BYTES") or 256 << 20)
        except ValueError:
            raise ValueError("EDI_SFTP_DOOR_PORT and EDI_DOORS_MAX_BYTES must be whole numbers") from None
        return cls(
            sftp_host=env.get("EDI_SFTP_DOOR_HOST") or "127.0.0.1",
            sftp_port=port,
            sftp_host_key=Path(env.get("EDI_SFTP_DOOR_HOST_KEY") or data / "doors" / "sftp_host_key"),
            sftp_root=Path(env.get("EDI_SFTP_DOOR_ROOT") or data / "doors" / "sftp"),
            s3_endpoint_url=env.get("EDI_S3_ENDPOINT_URL") or None,
            s3_region=env.get("EDI_S3_REGION") or "us-east-1",
            amqp_url=env.get("EDI_DOORS_AMQP_URL") or (broker if broker.startswith(("amqp://", "amqps://")) else None),
            stomp_url=env.get("EDI_DOORS_STOMP_URL") or None,
            max_bytes=max_bytes,
            door_id=env.get("EDI_DOORS_ID") or socket.gethostname(),
        )
