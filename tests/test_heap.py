"""The start-up heap freeze: what is alive at start-up leaves the collector's passes."""

from __future__ import annotations

import gc

from connectors.heap import freeze_startup_heap


def test_objects_alive_at_startup_are_frozen_and_later_ones_are_not() -> None:
    before = [object() for _ in range(1000)]
    cycle: list[object] = []
    cycle.append(cycle)  # garbage only a collection frees: the freeze must collect it first
    watched = id(cycle)
    del cycle
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() >= len(before)
        assert not any(id(o) == watched for o in gc.get_objects())  # collected, not frozen
        later = [[] for _ in range(10)]
        tracked = {id(o) for o in gc.get_objects()}
        assert all(id(o) in tracked for o in later)  # new objects are still collected normally
        assert id(before) not in tracked  # the frozen ones are out of every generation
    finally:
        gc.unfreeze()
