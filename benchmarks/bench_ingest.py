"""Ingest decoding benchmark: a 10,000-line eligibility roster (CSV) and the same as JSON Lines.

What is measured (in this one process, best of ``--repeat`` runs of CPU time, ``time.process_time``:
the machine is shared, and CPU time is what the decoding costs whatever else runs)
    * ``csv roster``: ``edi.ingest.decode`` with the mapping ``tests/fixtures/ingest/roster-csv.yaml``
      on a generated roster of N members (seeded: the same bytes every run), all items consumed:
      the UTF-8 check, CSV parsing, the mapping (dates, code maps, constants) and nesting.
      Peer: ``csv.DictReader`` over the same bytes (decode + parse only, no mapping).
    * ``csv + checks``: the same, plus ``edi.checks.validate_request`` on every item (what
      ``PipelineIntake`` runs before it records anything). No peer.
    * ``jsonl``: the same N requests as JSON Lines through ``edi.ingest.decode``.
      Peer: ``json.loads`` on every line.

How to read it
    ``rows/s``   items per second; ``MiB/s`` input bytes per second.
    ``ratio``    our time divided by the peer's (how much the decoding layer costs on top of the
                 bare parser; larger is slower).
    ``peak KiB`` tracemalloc peak while the items are consumed one by one, in a separate run
                 (tracing slows it down, so it is not timed). It stays far below the size of all
                 items held at once because decoding streams; the input bytes themselves are not
                 counted (a door hands them over).

Timings are printed, never checked. The driver exits 1 if any generated row is not accepted
(the roster is valid by construction).

Usage
    python -m benchmarks.bench_ingest [--rows 10000] [--repeat 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from edi.checks import validate_request
from edi.ingest import decode, load_mapping

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "tests" / "fixtures" / "ingest" / "roster-csv.yaml"
FIRST = ["PAT", "JO", "AL", "MARIA", "SAM", "LEE", "KIM", "ANA", "LUIS", "EVA"]
LAST = ["DOE", "ROE", "POE", "SMITH", "GARCIA", "NGUYEN", "BROWN", "LOPEZ", "KHAN", "MILLER"]


def roster(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,SEX,SERVICE_DATE\n")
    for n in range(rows):
        dob = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1930, 2015)}"
        out.write(f"SIM{n:08d},{rng.choice(FIRST)},{rng.choice(LAST)},{dob},{rng.choice(['Male', 'Female'])},"
                  f"2024-05-{rng.randint(1, 28):02d}\n")
    return out.getvalue().encode()


def best(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        start = time.process_time()
        count = fn()
        times.append(time.process_time() - start)
    return min(times), count


def peak(fn: Callable[[], int]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    mapping = load_mapping(MAPPING)
    content = roster(args.rows, args.seed)
    items = list(decode(content, name="roster.csv", mappings=[mapping]).items)
    bad = [i.label for i in items if not i.ok or validate_request("eligibility", i.data)[1]]
    lines = "".join(json.dumps(i.data, separators=(",", ":")) + "\n" for i in items).encode()

    def ours_csv() -> int:
        return sum(1 for _ in decode(content, name="roster.csv", mappings=[mapping]).items)

    def ours_checked() -> int:
        return sum(not validate_request("eligibility", i.data)[1]
                   for i in decode(content, name="roster.csv", mappings=[mapping]).items)

    def peer_csv() -> int:
        return sum(1 for _ in csv.DictReader(io.StringIO(content.decode("utf-8"))))

    def ours_jsonl() -> int:
        return sum(1 for _ in decode(lines, name="roster.jsonl").items)

    def peer_jsonl() -> int:
        return sum(1 for line in lines.decode("utf-8").splitlines() if json.loads(line))

    rows = [
        ("csv roster", ours_csv, peer_csv, len(content)),
        ("csv + checks", ours_checked, None, len(content)),
        ("jsonl", ours_jsonl, peer_jsonl, len(lines)),
    ]
    print(f"{args.rows} rows, best of {args.repeat}; input {len(content) / 1024:.0f} KiB CSV, "
          f"{len(lines) / 1024:.0f} KiB JSON Lines")
    print(f"{'case':<14}{'cpu s':>9}{'rows/s':>10}{'MiB/s':>8}{'peer s':>9}{'ratio':>7}{'peak KiB':>10}")
    for name, ours, peer, size in rows:
        seconds, count = best(ours, args.repeat)
        peer_seconds = best(peer, args.repeat)[0] if peer else None
        ratio = f"{seconds / peer_seconds:.1f}" if peer_seconds else "n/a"
        print(f"{name:<14}{seconds:>9.3f}{count / seconds:>10.0f}{size / seconds / 2**20:>8.1f}"
              f"{peer_seconds if peer_seconds is not None else float('nan'):>9.3f}{ratio:>7}"
              f"{peak(ours) / 1024:>10.0f}")
    held = peak(lambda: len(list(decode(content, name="roster.csv", mappings=[mapping]).items)))
    print(f"for comparison, all {args.rows} items held at once: peak {held / 1024:.0f} KiB")
    if bad:
        print(f"rows not accepted: {bad[:5]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
