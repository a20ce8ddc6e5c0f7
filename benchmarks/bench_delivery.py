"""CPU per callback in the delivery stage: reading what is owed, sending it, recording it.

``bench_callbacks`` measures one signed POST on its own; this measures what the delivery
worker spends around it, on PostgreSQL as the pipeline runs it: ``DeliveryWorker.handle_many``
on groups of ``GROUP_SIZE`` messages (leases, ``pending_many`` reading and decrypting the stored
notices, the POSTs, ``record_deliveries`` and the moves to ``delivered``). Each claim owes three
callbacks (999, 277CA, 835): each is stored for every claim, as the matching stage stores it,
then delivered (one message per claim, as the pipeline queues them), one round after the other.
Only the delivery rounds are measured.

Printed: process CPU time per callback in the worker process, split into the stage thread
(store and bookkeeping) and the rest (mostly the sending loop), and the receiver's CPU per
callback. ``--profile FILE`` writes a cProfile of the stage thread, timed in thread CPU time
so that waiting on the database or the network does not count.

Usage
    python -m benchmarks.bench_delivery [--claims 1000] [--profile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_callbacks import _cpu_seconds
from benchmarks.bench_pipeline import RECEIVER_CHILD, REPO_ROOT, _free_port


def _tree_cpu_seconds(root: int) -> float:
    """CPU of a process and its children, the reaped ones included (PostgreSQL: the postmaster
    and its backends)."""
    from tests.servers.proc import processes

    total = 0.0
    for process in processes():
        if process.pid == root:
            total += process.cpu + process.reaped
        elif process.ppid == root:
            total += process.cpu
    return total


def _claims(pipeline, count: int) -> list[str]:  # noqa: ANN001 - a Pipeline, imported late
    """Claims sent to the payer, in bulk (this part is not measured)."""
    from connectors.pipeline.sample import SUBMITTER_ID
    from edi.store import Correlation, Kind, NewTransaction, State

    repository = pipeline.repository
    ids: list[str] = []
    for start in range(0, count, 500):
        made = repository.create_many([(NewTransaction(
            submitter_id=SUBMITTER_ID, kind=Kind.CLAIM, partner_id="simplan", document_type="837P",
            correlation=Correlation(patient_control_number=f"BENCH-{n}", isa13=9, gs06=9, st02=1),
        ), ()) for n in range(start, min(count, start + 500))], to=State.VALIDATED)
        made_ids = [record.id for record in made]
        for state in (State.QUEUED, State.SENT):
            repository.transition_many(made_ids, state)
        ids.extend(made_ids)
    return ids


# The three answers to a claim, stored and delivered one round after the other as the matching
# stage stores them: (state, event, document type, final, status, response).
ROUNDS = [
    ("acknowledged", "functional.acknowledgment", "999", False, "accepted", None),
    ("acknowledged", "claim.acknowledgment", "277CA", False, "accepted", None),
    ("responded", "claim.payment", "835", True, "paid", {"lines": [{"n": n, "paid": "10.00"} for n in range(4)]}),
]


def _answer(pipeline, ids: list[str], answer: tuple) -> None:  # noqa: ANN001 - a Pipeline, imported late
    """Store one answer for each claim, with its move, as ``Repository.apply`` commits it."""
    from edi.pipeline.notices import notice
    from edi.store import Move, State

    state, event, document_type, final, status, response = answer
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        records = pipeline.repository.get_many(chunk)
        moves = []
        for tid in chunk:
            stored = notice(pipeline, records[tid], event, document_type=document_type, final=final, status=status,
                            response=response)
            moves.append(Move(tid, State(state), f"{document_type.lower()}:bench", attach=[stored.attachment]))
        pipeline.repository.apply(moves, actor="bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_delivery", description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--profile", help="write a cProfile (thread CPU time) of the stage thread here")
    args = parser.parse_args(argv)

    from connectors.pipeline.runtime import open_pipeline
    from connectors.pipeline.sample import write_sample_config
    from connectors.pipeline.workers import GROUP_SIZE, DeliveryWorker
    from connectors.queues.consumer import StageMessage
    from edi.settings import Settings
    from edi.store import ALL_SUBMITTERS, State
    from tests.servers.postgres import start_postgres

    work = Path(tempfile.mkdtemp(prefix="edi-bench-delivery-"))
    with contextlib.ExitStack() as exits:
        pg = exits.enter_context(start_postgres())
        database_url = pg.create_database(f"bench_{os.getpid()}")
        first = write_sample_config(work / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=9,
                                    known_hosts_line="[127.0.0.1]:9 ssh-ed25519 AAAA")
        receiver = subprocess.Popen([sys.executable, "-c", RECEIVER_CHILD, first.webhook_secret, str(_free_port())],
                                    cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        exits.callback(lambda: (receiver.terminate(), receiver.wait(10)))
        receiver_url = receiver.stdout.readline().strip() if receiver.stdout else ""
        if not receiver_url:
            raise SystemExit("the callback receiver did not start")
        config = write_sample_config(work / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=9,
                                     known_hosts_line="[127.0.0.1]:9 ssh-ed25519 AAAA", callback_url=receiver_url,
                                     webhook_secret=first.webhook_secret)
        settings = Settings.from_env({"EDI_DATA_DIR": str(work / "data"), "EDI_DATABASE_URL": database_url})
        pipeline = open_pipeline(settings, partners_file=config.partners_file, create_key=True)
        exits.callback(pipeline.repository.engine.dispose)
        ids = _claims(pipeline, args.claims)
        worker = DeliveryWorker(pipeline, url=f"sqla+sqlite:///{work / 'broker.db'}")
        exits.callback(worker.close)
        groups = [ids[n:n + GROUP_SIZE] for n in range(0, len(ids), GROUP_SIZE)]
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        wall = process = thread = receiver_cpu = database_cpu = 0.0
        for answer in ROUNDS:
            _answer(pipeline, ids, answer)
            receiver_before, process_before, thread_before = _cpu_seconds(receiver.pid), time.process_time(), \
                time.thread_time()
            database_before, wall_before = _tree_cpu_seconds(postmaster), time.monotonic()
            for group in groups:
                records = pipeline.repository.get_many(group)
                messages = [StageMessage(transaction_id=i, stage="delivery", transaction=records[i]) for i in group]
                if profile is not None:
                    profile.enable()
                worker.handle_many(messages)
                if profile is not None:
                    profile.disable()
            wall += time.monotonic() - wall_before
            process += time.process_time() - process_before
            thread += time.thread_time() - thread_before
            receiver_cpu += _cpu_seconds(receiver.pid) - receiver_before
            database_cpu += _tree_cpu_seconds(postmaster) - database_before
        if profile is not None:
            profile.dump_stats(args.profile)
        done = pipeline.repository.get_many(ids)
        delivered = sum(1 for i in ids if done[i].state is State.DELIVERED)
        attempts = sum(len(pipeline.repository.deliveries(i, submitter_id=ALL_SUBMITTERS)) for i in ids)
    callbacks = 3 * len(ids)
    print(f"delivered {delivered:,} of {len(ids):,} claims ({attempts:,} attempts recorded) in {wall:.1f}s, "
          f"3 rounds of {len(groups)} groups; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"worker process {1000 * process / callbacks:7.3f} ms CPU per callback")
    print(f"  stage thread {1000 * thread / callbacks:7.3f} ms (store, leases, bookkeeping)")
    print(f"  other threads{1000 * (process - thread) / callbacks:7.3f} ms (mostly the sending loop)")
    print(f"PostgreSQL     {1000 * database_cpu / callbacks:7.3f} ms CPU per callback")
    print(f"receiver       {1000 * receiver_cpu / callbacks:7.3f} ms CPU per callback")
    total = process + database_cpu + receiver_cpu
    print(f"ceiling from the delivery stage alone (3 callbacks per claim, {os.cpu_count()} cores doing nothing "
          f"else): {(os.cpu_count() or 1) * len(ids) / total:,.0f} claims/s")
    return 0 if delivered == len(ids) and attempts == callbacks else 1


if __name__ == "__main__":
    sys.exit(main())
