"""Encrypted payloads in Amazon S3 (or any S3-compatible store), through boto3.

The same envelope encryption as the local store (``edi.payloads``): objects are sealed before
they leave the process, so the bucket only ever holds ciphertext under opaque keys
``<prefix>/<payload id>``, with no metadata taken from the payload. Server-side encryption can
be asked for on top (``server_side_encryption="aws:kms"``), never instead.

``open_payload_store(url, keyring)`` picks the implementation from the configured URL:
``s3://bucket/prefix`` here, ``file:///dir`` or a plain path for the local directory. Without an
explicit client, boto3's usual configuration applies (environment, profile, instance role), and
``EDI_S3_ENDPOINT_URL`` points it at an S3-compatible server (MinIO, moto).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from edi.keys import KeyRing
from edi.payloads import (
    PAYLOAD_ID,
    EncryptedPayloadStore,
    LocalPayloadStore,
    PayloadError,
    PayloadNotFoundError,
    PayloadStore,
)

__all__ = ["S3PayloadStore", "open_payload_store"]

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3PayloadStore(EncryptedPayloadStore):
    """Payload objects in one bucket under one prefix.

    ``client`` is a boto3 S3 client; without one, a client is built from the usual AWS
    configuration (environment, profile, instance role), with ``endpoint_url`` for
    S3-compatible servers.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str,
        keyring: KeyRing,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        server_side_encryption: str | None = None,
    ) -> None:
        super().__init__(keyring)
        if not bucket:
            raise PayloadError("an S3 payload store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.server_side_encryption = server_side_encryption
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url or os.environ.get("EDI_S3_ENDPOINT_URL"))
        self.client = client
        self._uri_prefix = f"s3://{bucket}/{self.prefix + '/' if self.prefix else ''}"

    @classmethod
    def from_url(cls, url: str, keyring: KeyRing, **options: Any) -> S3PayloadStore:
        """A store for ``s3://bucket/prefix``."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise PayloadError("S3 payload store URLs look like s3://bucket/prefix")
        return cls(parsed.netloc, parsed.path, keyring, **options)

    def _key(self, payload_id: str) -> str:
        if not PAYLOAD_ID.fullmatch(payload_id):
            raise PayloadError("malformed payload id")
        return f"{self.prefix}/{payload_id}" if self.prefix else payload_id

    def uri_for(self, payload_id: str) -> str:
        return f"s3://{self.bucket}/{self._key(payload_id)}"

    def payload_id(self, uri: str) -> str:
        if not uri.startswith(self._uri_prefix):
            raise PayloadError("the URI does not belong to this payload bucket and prefix")
        payload_id = uri[len(self._uri_prefix) :]
        if not PAYLOAD_ID.fullmatch(payload_id):
            raise PayloadError("the URI does not name a payload object")
        return payload_id

    def _write(self, payload_id: str, blob: bytes) -> None:
        extra = {"ServerSideEncryption": self.server_side_encryption} if self.server_side_encryption else {}
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(payload_id), Body=blob,
            ContentType="application/octet-stream", **extra,
        )

    def _read(self, payload_id: str, limit: int | None = None) -> bytes:
        from botocore.exceptions import ClientError

        ranged = {"Range": f"bytes=0-{limit - 1}"} if limit else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(payload_id), **ranged)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in _MISSING:
                raise PayloadNotFoundError(f"payload {payload_id} not found") from None
            if code == "InvalidRange":  # a ranged read of an empty object
                return b""
            raise
        body = answer["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def _delete(self, payload_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(payload_id))

    def payload_ids(self) -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", ()):
                payload_id = item["Key"][len(start) :]
                if PAYLOAD_ID.fullmatch(payload_id):
                    yield payload_id


def open_payload_store(url: str, keyring: KeyRing, **options: Any) -> PayloadStore:
    """The payload store for a configured URL: ``s3://bucket/prefix``, ``file:///dir`` or a path."""
    if urlparse(url).scheme == "s3":
        return S3PayloadStore.from_url(url, keyring, **options)
    return LocalPayloadStore.from_url(url, keyring, **options)
