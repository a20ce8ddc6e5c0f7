"""The responses stage turns the cyclic garbage collector off for one answer file
(`edi.pipeline.matching._collector_paused`) and must always leave it as it found it."""

from __future__ import annotations

import gc

import pytest

from edi.pipeline.matching import _collector_paused


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("unreadable file")
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off() -> None:
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
