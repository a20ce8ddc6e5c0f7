"""``connectors.loop.LoopThread`` runs on uvloop when it is installed, on asyncio's loop when not
(``new_event_loop``), or on the loop of a factory it is given."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import uvloop

from connectors.loop import LoopThread, new_event_loop


async def _running_loop() -> asyncio.AbstractEventLoop:
    await asyncio.sleep(0.01)  # a timer, as the clients' timeouts use
    return asyncio.get_running_loop()


def test_loop_threads_run_on_uvloop_when_it_is_installed() -> None:
    thread = LoopThread("uvloop-test")
    try:
        assert isinstance(thread.run(_running_loop(), timeout=10), uvloop.Loop)
    finally:
        thread.stop()


def test_loop_threads_fall_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    loop = new_event_loop()
    loop.close()
    assert not isinstance(loop, uvloop.Loop) and isinstance(loop, asyncio.BaseEventLoop)
    thread = LoopThread("asyncio-test")
    try:
        running = thread.run(_running_loop(), timeout=10)
        assert not isinstance(running, uvloop.Loop)
    finally:
        thread.stop()


def test_a_loop_factory_can_be_named() -> None:
    thread = LoopThread("factory-test", loop_factory=asyncio.new_event_loop)
    try:
        assert not isinstance(thread.run(_running_loop(), timeout=10), uvloop.Loop)
    finally:
        thread.stop()


def test_the_delivery_worker_sends_on_uvloop(tmp_path: Path) -> None:
    from connectors.pipeline.runtime import open_pipeline
    from connectors.pipeline.sample import write_sample_config
    from connectors.pipeline.workers import DeliveryWorker
    from edi.settings import Settings

    config = write_sample_config(tmp_path / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=9,
                                 known_hosts_line="[127.0.0.1]:9 ssh-ed25519 AAAA")
    pipeline = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data"),
                                                "EDI_DATABASE_URL": f"sqlite:///{tmp_path / 'edi.db'}"}),
                             partners_file=config.partners_file, create_key=True)
    worker = DeliveryWorker(pipeline, url=f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    try:
        assert isinstance(worker._loop.run(_running_loop(), timeout=10), uvloop.Loop)
    finally:
        worker.close()
        pipeline.repository.engine.dispose()
