"""``edi api --workers N``: several processes serve one port over one store, real-time included."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx

# `benchmarks/` is not an installed package: make it importable under plain `pytest` too.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from benchmarks.bench_eligibility import eligibility_body, start_api, start_sim, write_config  # noqa: E402


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (state 0A in /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rpartition(":")[2], 16) == port and fields[3] == "0A":
                found.add(fields[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def test_two_worker_processes_answer_eligibility_from_one_store(tmp_path: Path) -> None:
    sim, core_url = start_sim(tmp_path)
    try:
        partners, api_key = write_config(tmp_path / "config", core_url)
        api, url = start_api("workers", tmp_path / "data", f"sqlite:///{tmp_path / 'edi.db'}", partners, tmp_path,
                             workers=2)
        try:
            async def ask() -> list[httpx.Response]:
                async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {api_key}"},
                                             timeout=60) as client:
                    return await asyncio.gather(*(client.post("/eligibility", json=eligibility_body(i))
                                                  for i in range(8)))

            answers = asyncio.run(ask())
            assert [a.status_code for a in answers] == [200] * 8, [a.text[:200] for a in answers]
            assert {a.json()["type"] for a in answers} == {"eligibility.response"}
            workers = [p for p in _children(api.proc.pid) if p != os.getpid()]
            assert len(workers) >= 2  # the supervisor's worker processes (and its resource tracker)
            # each worker accepts on its own SO_REUSEPORT socket, so the kernel spreads connections
            # over them instead of waking whichever process waited last
            listening = _listening_inodes(int(url.rpartition(":")[2]))
            assert len(listening) == 2
            served = [_socket_inodes(p) & listening for p in workers]
            assert sorted(len(s) for s in served if s) == [1, 1] and len(set().union(*served)) == 2
            ids = {a.headers["Location"] for a in answers}
            assert len(ids) == 8
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
                for location in ids:  # whichever worker answers reads what the others recorded
                    assert client.get(location).json()["state"] == "delivered"
            # a worker killed outright is replaced, and its replacement serves the same socket
            lost = next(p for p, s in zip(workers, served, strict=True) if s)
            os.kill(lost, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                now = [p for p in _children(api.proc.pid) if p not in workers]
                held = [_socket_inodes(p) & listening for p in now]
                if any(h == served[workers.index(lost)] for h in held):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("no replacement worker took over the killed worker's socket")
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
                assert all(client.get(location).status_code == 200 for location in ids)
        finally:
            api.stop()
        assert api.proc.returncode is not None
    finally:
        sim.stop()
