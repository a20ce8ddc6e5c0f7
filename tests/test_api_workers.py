"""``edi api --workers N``: several processes serve one port over one store, real-time included."""

from __future__ import annotations

import asyncio
import os
import sys
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
            ids = {a.headers["Location"] for a in answers}
            assert len(ids) == 8
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
                for location in ids:  # whichever worker answers reads what the others recorded
                    assert client.get(location).json()["state"] == "delivered"
        finally:
            api.stop()
        assert api.proc.returncode is not None
    finally:
        sim.stop()
