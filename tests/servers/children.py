"""Programs a test runs as child processes (``edi payer-sim``, ``edi doors``...): read the line
each prints when it listens, and stop it, so a hung child fails the test with its stderr instead
of hanging the run."""

from __future__ import annotations

import signal
import subprocess
import threading
from typing import Any

import pytest

__all__ = ["first_line", "stop"]


def first_line(process: subprocess.Popen[Any], timeout: float, what: str = "a line") -> str:
    """The next stdout line of ``process``; the test fails (showing its stderr) if none comes in
    ``timeout`` seconds. ``what`` names the expected line in that failure."""
    assert process.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        process.kill()
        _, err = process.communicate(timeout=5)
        pytest.fail(f"the child printed no {what}: {err}")
    return box[0].strip()


def stop(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Signal ``process`` and wait for it; kill it if it outlives ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
