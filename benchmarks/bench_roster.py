"""Roster benchmark: an N-line CSV eligibility roster over the SFTP door, drop to last answer.

What runs (all in this process, on loopback; ``tests/roster_harness.py``, the same rig as
``tests/test_roster_sftp.py``)
    the embedded pipeline (SQLite store, embedded broker, every stage, relay, sweeper, audit
    sealer), the ingest doors and the payer simulator answering CORE 270s from a roster of the
    same members (one line in 37 names a member it does not know: AAA 75).

What is measured, once per answer layout (``files`` and ``jsonl``; a fresh data dir each)
    The clock starts when the SFTP client opens the upload and stops when the last answer is in
    ``/outbound``: N ``*.eligibility.response.json`` files (``files``), or the
    ``NAME.responses.done`` marker that follows the N-th line of ``NAME.responses.jsonl``
    (``jsonl``). Printed: the intake time (upload until the door's close returned: decode, checks,
    storing every row), the total, and lines/s = N / total. Every answer is checked against its
    line (the run exits 1 if one is wrong or missing).

The peer, measured in the same run
    pyx12 (in a child process) validating one 270 interchange holding the same N members as N
    transaction sets -- what a hand-rolled pyx12 pipeline must at least do to the requests it
    sends, without sending anything. Printed as lines/s and as the ratio ours / pyx12 (above 1:
    the whole exchange through the engine is faster than pyx12 only validating the requests).

Timings are printed, never checked. The machine is shared: read the numbers with ``uptime``.

Usage
    python -m benchmarks.bench_roster [--lines 10000] [--layouts files,jsonl] [--peer-max 10000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests.roster_harness import MAPPING, Roster, answer_matches, roster, roster_rig


def run_layout(data: Roster, layout: str, lines: int, prefetch: int = 1) -> tuple[float, float, int]:
    """(intake seconds, total seconds, wrong or missing answers)."""
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp, \
            roster_rig(Path(tmp), data.members, answers=layout, prefetch=prefetch) as rig:
        start = time.monotonic()
        rig.upload("roster.csv", data.csv)
        intake = time.monotonic() - start
        if layout == "files":
            end = rig.wait_for(rig.response_files, lines, poll=0.2)
        else:
            end = rig.wait_for(rig.jsonl_lines, lines + 1, poll=0.2)  # the last line, then the .done marker
        receipt = json.loads((rig.outbound / "roster.csv.receipt.json").read_bytes())
        line_of = dict(zip(receipt["accepted"], sorted(data.expected), strict=True))
        if layout == "files":
            documents = [json.loads(p.read_bytes()) for p in rig.outbound.iterdir()
                         if p.name.endswith(".eligibility.response.json")]
        else:
            documents = [json.loads(raw)["document"]
                         for raw in (rig.outbound / "roster.csv.responses.jsonl").read_bytes().splitlines()]
        good = 0
        for document in documents:
            line = line_of.get(document["data"]["transactionId"])
            if line is not None and answer_matches(document, *data.expected[line]):
                good += 1
        return intake, end - start, lines - good


def pyx12_peer(data: Roster, count: int, work: Path) -> tuple[int, float | None, str]:
    """(members, seconds, verdict) of pyx12 validating one 270 with ``count`` of the roster's members."""
    from benchmarks.bench_validate import pyx12_peer_verdict
    from edi.ingest import decode
    from edi.ingest.mapping import ColumnMapping
    from edi.mappers.eligibility import IMPLEMENTATION_270_271, _body_270
    from edi.mappers.envelope import Envelope, wrap
    from edi.maps import pyx12_map_folder
    from edi.models import EligibilityRequest

    mapping = ColumnMapping.model_validate(MAPPING)
    items = decode(data.csv, name="roster.csv", mappings=[mapping]).items
    now = datetime.now()
    bodies = []
    for item in itertools.islice(items, count):
        request = EligibilityRequest.model_validate(item.data)
        bodies.append(_body_270(request, now, "9EDIENGINE", None))
    envelope = Envelope(sender_id="EDIENGINE", receiver_id="SIMPLAN01", interchange_control_number=1,
                        group_control_number=1, now=now)
    path = work / "peer.270"
    path.write_text(wrap(envelope, "HS", IMPLEMENTATION_270_271, "270", bodies), encoding="utf-8")
    # pyx12 with the 270/271 map shipped in edi.maps (pyx12's own maps lack 005010X279A1)
    seconds, ok = pyx12_peer_verdict(path, work, pyx12_map_folder())
    return len(bodies), seconds, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--layouts", default="files,jsonl")
    parser.add_argument("--peer-max", type=int, default=10_000, help="members in pyx12's 270 (0: skip the peer)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prefetch", type=int, default=1, help="as edi worker --prefetch (above 1: groups)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    data = roster(args.lines, args.seed)
    print(f"roster: {args.lines} lines, {len(data.csv) / 1024:.0f} KiB; {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; prefetch {args.prefetch}")
    failed = False
    results: dict[str, float] = {}
    for layout in [x.strip() for x in args.layouts.split(",") if x.strip()]:
        intake, total, wrong = run_layout(data, layout, args.lines, args.prefetch)
        results[layout] = args.lines / total
        print(f"{layout:6s} intake {intake:7.1f} s   drop to last answer {total:8.1f} s   "
              f"{results[layout]:8.1f} lines/s   wrong or missing answers: {wrong}   "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        failed |= wrong != 0
    if args.peer_max:
        with tempfile.TemporaryDirectory(prefix="bench-roster-peer-") as tmp:
            count, seconds, verdict = pyx12_peer(data, min(args.peer_max, args.lines), Path(tmp))
        if seconds:
            peer = count / seconds
            print(f"pyx12  validating one 270 of {count} members: {seconds:.1f} s, {peer:.1f} lines/s ({verdict})")
            for layout, ours in results.items():
                print(f"  ratio ours ({layout}) / pyx12: {ours / peer:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
