"""The partner SFTP client against a real OpenSSH server (``tests.servers.sshd``) on loopback.

Partners' mailboxes are OpenSSH far more often than not, so atomic uploads (posix-rename),
listings, size limits, refused logins, host key checks and reconnects are checked against it,
with the server stopped and restarted under the client where that is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from connectors.sftp import (
    SftpAuthError,
    SftpHostKeyError,
    SftpMailboxClient,
    SftpRemoteError,
    SftpUnavailableError,
    check_name,
)
from connectors.sftp.client import AsyncSftpMailbox
from edi.partners import SecretRef, SftpTransport
from tests.servers.sshd import ClientKey, Sshd, make_client_key, sshd, sshd_key

__all__ = ["sshd", "sshd_key"]  # fixtures, imported for pytest


def settings_for(server: Sshd, key: Path, box: Path, known_hosts: Path) -> SftpTransport:
    return SftpTransport.model_validate(
        {
            "host": server.host,
            "port": server.port,
            "username": server.user,
            "private_key": {"file": str(key)},
            "known_hosts": str(known_hosts),
            "inbound_dir": str(box / "inbound"),
            "outbound_dir": str(box / "outbound"),
        }
    )


@pytest.fixture
def box(tmp_path: Path) -> Path:
    for folder in ("inbound", "outbound"):
        (tmp_path / "box" / folder).mkdir(parents=True)
    return tmp_path / "box"


@pytest.fixture
def settings(sshd: Sshd, sshd_key: ClientKey, box: Path, tmp_path: Path) -> SftpTransport:
    return settings_for(sshd, sshd_key.private_path, box, sshd.write_known_hosts(tmp_path / "known_hosts"))


@pytest.fixture
def client(settings: SftpTransport) -> Iterator[SftpMailboxClient]:
    with SftpMailboxClient(settings, connect_timeout=5) as c:
        yield c


def test_upload_list_download_remove(client: SftpMailboxClient, box: Path) -> None:
    client.upload("claims-1.x12", b"ISA*first")
    client.upload("claims-1.x12", b"ISA*second")  # an older file of the same name is replaced
    assert sorted(p.name for p in (box / "inbound").iterdir()) == ["claims-1.x12"]
    assert (box / "inbound" / "claims-1.x12").read_bytes() == b"ISA*second"

    out = box / "outbound"
    (out / "999_1.x12").write_bytes(b"999 answer")
    (out / "835_2.x12").write_bytes(b"835 answer!")
    (out / "277CA_3.x12.part").write_bytes(b"half")  # still being written by the partner
    (out / ".hidden").write_bytes(b"x")
    (out / "folder").mkdir()
    (out / "link.x12").symlink_to(out / "999_1.x12")
    listed = client.list_outbound()
    assert [(f.name, f.size) for f in listed] == [("835_2.x12", 11), ("999_1.x12", 10)]
    assert all(f.mtime is not None and abs(f.mtime.timestamp() - time.time()) < 120 for f in listed)

    assert client.download("999_1.x12") == b"999 answer"
    client.remove("999_1.x12")
    assert [f.name for f in client.list_outbound()] == ["835_2.x12"]
    with pytest.raises(SftpRemoteError) as missing:
        client.download("999_1.x12")
    assert "download 999_1.x12" in str(missing.value) and str(missing.value).startswith("sftp 127.0.0.1:")
    with pytest.raises(SftpRemoteError):
        client.remove("999_1.x12")


def test_an_openssh_server_is_spoken_to_with_aes_gcm(settings: SftpTransport) -> None:
    """OpenSSH offers ChaCha20-Poly1305 too; the client's own preference must win."""

    async def cipher() -> str:
        async with AsyncSftpMailbox(settings, connect_timeout=5) as mailbox:
            await mailbox.list_outbound()
            connection = mailbox._conn  # noqa: SLF001 - the negotiated cipher is not exposed otherwise
            assert connection is not None
            return connection.get_extra_info("send_cipher")

    assert asyncio.run(cipher()) == "aes256-gcm@openssh.com"


def test_upload_is_never_seen_half_written(client: SftpMailboxClient, box: Path) -> None:
    sizes = {4 * 1024 * 1024, 12 * 1024 * 1024}
    final = box / "inbound" / "big.x12"
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.add(final.stat().st_size)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for size in sorted(sizes):
            client.upload("big.x12", b"x" * size)
    finally:
        done.set()
        watcher.join()
    assert seen <= sizes, "a partial file was visible under the final name"
    assert final.stat().st_size == max(sizes)
    assert [p.name for p in (box / "inbound").iterdir()] == ["big.x12"]  # no .part left behind


@pytest.mark.parametrize(
    "name", ["", "a/b", "/etc/passwd", "..", "../x", "a..b", ".hidden", "a\x00b", "x\ny"]
)
def test_unsafe_names_are_refused_before_any_connection(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_name(name)
    settings = SftpTransport.model_validate(
        {"host": "127.0.0.1", "port": 9, "username": "u", "password": {"env": "NOPE"}}
    )
    with SftpMailboxClient(settings, environ={"NOPE": "x"}) as c:
        for call in (lambda: c.upload(name, b"x"), lambda: c.download(name), lambda: c.remove(name)):
            with pytest.raises(ValueError):
                call()


def test_download_limit(client: SftpMailboxClient, box: Path) -> None:
    (box / "outbound" / "835_big.x12").write_bytes(b"y" * 5000)
    with pytest.raises(SftpRemoteError) as too_big:
        client.download("835_big.x12", limit=4999)
    assert "over the 4999 byte limit" in str(too_big.value)
    assert client.download("835_big.x12", limit=5000) == b"y" * 5000


def test_missing_folder_is_a_remote_error(settings: SftpTransport, box: Path) -> None:
    broken = settings.model_copy(update={"outbound_dir": str(box / "nope"), "inbound_dir": str(box / "nope")})
    with SftpMailboxClient(broken) as c:
        with pytest.raises(SftpRemoteError):
            c.list_outbound()
        with pytest.raises(SftpRemoteError):
            c.upload("a.x12", b"x")


def test_wrong_key_is_refused(sshd: Sshd, box: Path, tmp_path: Path) -> None:
    stranger = make_client_key(tmp_path, "stranger")
    settings = settings_for(sshd, stranger.private_path, box, sshd.write_known_hosts(tmp_path / "kh"))
    with SftpMailboxClient(settings) as c, pytest.raises(SftpAuthError) as refused:
        c.list_outbound()
    assert "login refused" in str(refused.value) and f"127.0.0.1:{sshd.port}" in str(refused.value)
    assert not refused.value.retryable


def test_key_text_from_an_environment_variable(
    sshd: Sshd, sshd_key: ClientKey, box: Path, tmp_path: Path
) -> None:
    settings = SftpTransport.model_validate(
        {
            "host": sshd.host,
            "port": sshd.port,
            "username": sshd.user,
            "private_key": {"env": "PARTNER_KEY"},
            "known_hosts": str(sshd.write_known_hosts(tmp_path / "kh")),
            "outbound_dir": str(box / "outbound"),
        }
    )
    environ = {"PARTNER_KEY": sshd_key.private_path.read_text()}
    with SftpMailboxClient(settings, environ=environ) as c:
        assert c.list_outbound() == []


def test_encrypted_key_needs_its_passphrase(sshd: Sshd, box: Path, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "encrypted"
    key.write_private_key(str(path), "pkcs8-pem", passphrase="open sesame")  # no bcrypt needed
    sshd.authorize(key.export_public_key().decode())
    settings = settings_for(sshd, path, box, sshd.write_known_hosts(tmp_path / "kh")).model_copy(
        update={"passphrase": SecretRef(env="PASSPHRASE")}
    )
    with SftpMailboxClient(settings, environ={"PASSPHRASE": "open sesame"}) as c:
        assert c.list_outbound() == []
    with pytest.raises(SftpAuthError) as refused:
        SftpMailboxClient(settings, environ={"PASSPHRASE": "wrong"})
    assert "open sesame" not in str(refused.value) and "env:PASSPHRASE" not in str(refused.value)
    assert f"file:{path}" in str(refused.value)


def test_host_key_mismatch_is_refused(settings: SftpTransport, sshd: Sshd, tmp_path: Path) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    known = tmp_path / "other_known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {impostor}\n")
    mismatch = settings.model_copy(update={"known_hosts": known})
    with SftpMailboxClient(mismatch) as c, pytest.raises(SftpHostKeyError) as refused:
        c.list_outbound()
    assert not refused.value.retryable
    # the test-only switch skips the check (loopback simulators generate their keys)
    with SftpMailboxClient(
        settings.model_copy(update={"known_hosts": known}), insecure_skip_host_key=True
    ) as c:
        assert c.list_outbound() == []


def test_stopped_server_is_unavailable_and_reconnects_after_restart(
    client: SftpMailboxClient, sshd: Sshd, box: Path
) -> None:
    (box / "outbound" / "999_1.x12").write_bytes(b"a")
    assert [f.name for f in client.list_outbound()] == ["999_1.x12"]
    sshd.restart()  # the open connection dies with it; the next call reconnects by itself
    assert [f.name for f in client.list_outbound()] == ["999_1.x12"]
    client.upload("after-restart.x12", b"b")
    assert (box / "inbound" / "after-restart.x12").read_bytes() == b"b"

    sshd.stop()
    with pytest.raises(SftpUnavailableError) as down:
        client.list_outbound()
    assert down.value.retryable and down.value.operation in ("connect", "list outbound")
    sshd.start()
    assert [f.name for f in client.list_outbound()] == ["999_1.x12"]


def test_silent_server_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts TCP (kernel backlog) but never speaks SSH
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        settings = SftpTransport.model_validate(
            {"host": "127.0.0.1", "port": port, "username": "u", "password": {"env": "PW"}}
        )
        started = time.monotonic()
        with (
            SftpMailboxClient(settings, environ={"PW": "x"}, connect_timeout=0.5) as c,
            pytest.raises(SftpUnavailableError),
        ):
            c.list_outbound()
        assert time.monotonic() - started < 5
