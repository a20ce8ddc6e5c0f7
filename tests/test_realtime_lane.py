"""Real-time eligibility runs its store work in a lane of its own, at most ``realtime_threads``
threads at once, whatever the general store pool allows: more threads only make the GIL change
hands (see ``connectors.api.app.DEFAULT_REALTIME_THREADS``)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.api.app import DEFAULT_REALTIME_THREADS, create_app
from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import write_sample_config
from edi.pipeline import Pipeline
from edi.settings import Settings
from tests.test_eligibility_groups import sim
from tests.test_payer_sim_rules import eligibility_request

__all__ = ["sim"]  # the simulator fixture, imported for pytest


class Watched:
    """The real repository, with how many threads are inside ``create`` at once recorded (each
    stays a while, as behind a slow disk, so that unbounded threads would overlap)."""

    def __init__(self, repository: Any) -> None:
        self._repository = repository
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            time.sleep(0.05)
            return self._repository.create(*args, **kwargs)
        finally:
            with self._lock:
                self.inside -= 1


def _pipeline(tmp_path: Path, core_url: str) -> tuple[Pipeline, str]:
    config = write_sample_config(tmp_path / "cfg", core_url=core_url, sftp_port=2222,
                                 known_hosts_line="[127.0.0.1]:2222 ssh-ed25519 AAAA")
    pipeline = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}),
                             partners_file=config.partners_file, create_key=True)
    return pipeline, config.api_key


@pytest.mark.parametrize("lane", [1, DEFAULT_REALTIME_THREADS])
def test_eligibility_store_work_runs_at_most_lane_threads_at_once(
    tmp_path: Path, sim: EmbeddedPayerSim, lane: int
) -> None:
    pipeline, api_key = _pipeline(tmp_path, sim.core_url)
    watched = Watched(pipeline.repository)
    pipeline.repository = watched  # type: ignore[misc]
    app = create_app(watched, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline,  # type: ignore[arg-type]
                     store_threads=8, realtime_threads=lane)

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=transport, base_url="http://api", headers={"Authorization": f"Bearer {api_key}"},
                timeout=60) as client:
            bodies = []
            for number in range(8):
                body = eligibility_request("SIM00001", "DOE", "19800115").to_json()
                body["tradingPartnerServiceId"] = "SIMPLAN01"
                body["controlNumber"] = f"{number + 1:09d}"
                bodies.append(body)
            return list(await asyncio.gather(*(client.post("/eligibility", json=b) for b in bodies)))

    answers = asyncio.run(post_all())
    assert [a.status_code for a in answers] == [200] * 8
    assert {a.json()["type"] for a in answers} == {"eligibility.response"}  # each got its 271 as JSON
    assert watched.most == lane  # never more; and with eight waiting, the lane is used in full
