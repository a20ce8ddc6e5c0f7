"""SFTP transport to a trading partner's mailbox: 837 files up, TA1 / 999 / 277CA / 835 files down.

`SftpMailboxClient` (asyncssh) is configured from a partner's `edi.partners.SftpTransport`; its
errors (`SftpError` and subclasses) tell the caller whether to retry later or to fix something.
"""

from __future__ import annotations

from .client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DOWNLOAD_LIMIT,
    RemoteFile,
    SftpAuthError,
    SftpError,
    SftpHostKeyError,
    SftpMailboxClient,
    SftpRemoteError,
    SftpUnavailableError,
    check_name,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DOWNLOAD_LIMIT",
    "RemoteFile",
    "SftpAuthError",
    "SftpError",
    "SftpHostKeyError",
    "SftpMailboxClient",
    "SftpRemoteError",
    "SftpUnavailableError",
    "check_name",
]
