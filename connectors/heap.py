"""A long-running process's start-up objects kept out of the garbage collector's full passes.

A worker or API process imports and builds over a hundred thousand long-lived objects (X12 maps
and grammars, the models, SQLAlchemy's metadata, the libraries) before it serves anything.
CPython keeps them in its oldest generation, so every full collection walks them all again:
about 95 ms of CPU in a worker each time one is due. In the claim stages that came to 0.12-0.29
ms per claim in each of the outbox, transport, 277CA and 835 stages (``benchmarks.bench_stages``,
plain thread CPU: 4.2-5.3 ms per claim in all without, 3.8-4.8 with); in the API a full pass
lands inside one request as a stall of that length. After one collection at start-up,
``gc.freeze()`` moves what is alive to the permanent generation, and later passes walk only what
was made since. Nothing frozen is ever freed, so this is done once, after start-up only.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap"]


def freeze_startup_heap() -> int:
    """Collect once, then exempt every object alive now from later collections; their count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
