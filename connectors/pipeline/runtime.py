"""Opening the pipeline from settings: database, payload store (local or S3), partners."""

from __future__ import annotations

from pathlib import Path

from edi.partners import PartnersConfig, load_partners
from edi.payloads import LocalPayloadStore, PayloadStore
from edi.pipeline import Pipeline
from edi.pipeline.context import Timings
from edi.settings import Settings
from edi.store import Repository, SequenceAllocator, make_engine, migrate

__all__ = ["open_payload_store", "open_pipeline"]


def open_payload_store(settings: Settings, *, create_key: bool = False) -> PayloadStore:
    keyring = settings.keyring(create=create_key)
    if settings.payload_url.startswith("s3://"):
        from connectors.s3_payloads import S3PayloadStore

        return S3PayloadStore.from_url(settings.payload_url, keyring)
    return LocalPayloadStore.from_url(settings.payload_url, keyring)


def open_pipeline(
    settings: Settings | None = None,
    *,
    partners: PartnersConfig | None = None,
    partners_file: Path | None = None,
    timings: Timings | None = None,
    upgrade: bool = True,
    create_key: bool = False,
) -> Pipeline:
    """A ``Pipeline`` over the configured store; ``upgrade`` brings the schema to the current one."""
    settings = settings or Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lookup_key = settings.lookup_key()
    if upgrade:
        migrate(settings.database_url, lookup_key=lookup_key)
    engine = make_engine(settings.database_url)
    if partners is None:
        source = partners_file or settings.partners_file
        partners = load_partners(source) if source is not None else PartnersConfig()
    return Pipeline(
        repository=Repository(engine, lookup_key=lookup_key),
        payloads=open_payload_store(settings, create_key=create_key),
        partners=partners,
        sequences=SequenceAllocator(engine),
        timings=timings or Timings(),
    )
