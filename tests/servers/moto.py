"""moto's S3 server on loopback, for tests of everything that talks to S3 through boto3.

The S3 payload store is tested against a real HTTP server speaking the S3 protocol rather than
an in-process patch, so signing, ranges, listing and error codes go through botocore exactly as
against AWS. The session fixture ``moto_server`` runs ``python -m moto.server`` (the
``moto[server]`` test extra) on 127.0.0.1 and a free port; ``s3_client`` is a boto3 client for it
and ``s3_bucket`` a fresh bucket per test. If the server does not come up the fixture fails.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["MotoServer", "moto_server", "s3_bucket", "s3_client", "start_moto"]

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@dataclass(frozen=True, slots=True)
class MotoServer:
    """A running moto server and how to build clients for it."""

    endpoint_url: str

    def client(self, service: str = "s3") -> Any:
        """A boto3 client pointed at this server with dummy credentials."""
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint_url, **CREDENTIALS)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def start_moto(timeout: float = 30.0) -> Iterator[MotoServer]:
    """Start ``moto.server`` in a child process; terminate it on exit."""
    last_output = ""
    for _ in range(3):  # another process may take the port between the probe and the bind
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        # The request log goes to a file nobody has to drain, so the server never blocks on it.
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + timeout
                while process.poll() is None and time.monotonic() < deadline:
                    if _answers(endpoint + "/moto-api/"):
                        break
                    time.sleep(0.1)
                if process.poll() is None and _answers(endpoint + "/moto-api/"):
                    yield MotoServer(endpoint)
                    return
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.seek(0)
            last_output = log.read().decode(errors="replace")
    pytest.fail(f"moto server did not start (is the 'moto[server]' test extra installed?):\n{last_output[-4000:]}")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server for the whole test session."""
    with start_moto() as server:
        yield server


@pytest.fixture
def s3_client(moto_server: MotoServer) -> Any:
    """A boto3 S3 client for the moto server."""
    return moto_server.client("s3")


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"edi-test-{secrets.token_hex(6)}"
    s3_client.create_bucket(Bucket=name)
    return name
