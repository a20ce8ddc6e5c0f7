"""CPU per claim of each claim stage, in this process, on a private PostgreSQL.

The end-to-end benchmark (``bench_pipeline``) measures wall time on a machine shared with other
work, and its stages run side by side in two processes, so it says little about which stage
costs what. This one drives the same service-layer calls the workers make, one stage after the
other, each under cProfile with the thread's CPU time as the timer (waiting for PostgreSQL counts
nothing), and prints milliseconds of CPU per claim for each:

    intake       ``intake.accept_many`` (500 claims a call, as the bench's intake door)
    translate    ``translate_many`` (groups of 200, as the translate worker, with the consumer's read of them)
    outbox       ``build_batches``: one 837P of all the claims written, validated, stored, assigned
    transport    ``batch_to_send`` and ``batch_sent`` (the SFTP upload itself is left out)
    999, 277CA, 835   ``process_inbound`` of the payer simulator's answers to that 837

Figures include cProfile's own overhead (roughly doubling pure-Python code), so compare runs of
this benchmark with each other, not with wall times. Afterwards the rows written are counted
(events, audit entries, payload references, outbox messages): an optimisation must not change them.
PostgreSQL's own CPU over the run (its process tree) is printed last, for all stages together.

Usage
    python -m benchmarks.bench_stages [--claims 1000] [--profile DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_delivery import _tree_cpu_seconds
from benchmarks.bench_pipeline import FIXTURES, make_claims

KNOWN_HOSTS = "[127.0.0.1]:9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3rFSbB3pW0dQDq3KjvWLD4rcb2TOcWRr0qwx3s1vZx"


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from connectors.payer_sim.mailbox import Mailbox
    from connectors.payer_sim.roster import load_roster
    from connectors.payer_sim.rules import load_rules
    from connectors.pipeline.runtime import open_pipeline
    from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
    from edi.keys import KeyRing
    from edi.pipeline import intake
    from edi.pipeline.batching import build_batches
    from edi.pipeline.matching import detect_document_type, process_inbound
    from edi.pipeline.translate import translate_many
    from edi.pipeline.transmission import batch_sent, batch_to_send
    from edi.settings import Settings
    from tests.servers.postgres import start_postgres

    count = args.claims
    profiles = Path(args.profile) if args.profile else None
    if profiles is not None:
        profiles.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="edi-bench-stages-"))
    claims = make_claims(count)
    costs: dict[str, float] = {}

    def measure(name: str, call: Callable[[], Any]) -> Any:
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        try:
            return call()
        finally:
            profile.disable()
            if profiles is not None:
                profile.dump_stats(profiles / f"{name}.prof")
            costs[name] = costs.get(name, 0.0) + pstats.Stats(profile).total_tt

    print(f"python {sys.version.split()[0]} | {os.cpu_count()} CPUs | {count:,} claims, one 837P", flush=True)
    with start_postgres() as pg:
        url = pg.create_database(f"stages_{os.getpid()}")
        config = write_sample_config(
            work / "cfg", core_url="http://127.0.0.1:9/core", sftp_port=9, known_hosts_line=KNOWN_HOSTS,
            sftp_password="unused", callback_url="http://127.0.0.1:9/callbacks", max_claims_per_file=count,
            window_seconds=0.5,
        )
        data_dir = work / "data"
        data_dir.mkdir()
        KeyRing({"k1": os.urandom(32)}, "k1").save(data_dir / "master.keys")
        env = {**os.environ, "EDI_DATA_DIR": str(data_dir), "EDI_DATABASE_URL": url,
               "EDI_PARTNERS_FILE": str(config.partners_file)}
        pipeline = open_pipeline(Settings.from_env(env), partners_file=config.partners_file)
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        database_before = _tree_cpu_seconds(postmaster)

        def accept() -> list[str]:
            ids = []
            for start in range(0, count, 500):
                items = [intake.Request("professional", data) for data in claims[start:start + 500]]
                ids.extend(r.id for r, _ in intake.accept_many(pipeline, submitter_id=SUBMITTER_ID, items=items))
            return ids

        ids = measure("intake", accept)

        def translate() -> None:
            for start in range(0, count, 200):  # as the translate worker: the consumer reads the group first
                group = ids[start:start + 200]
                known = pipeline.repository.get_many(group)
                translate_many(pipeline, group, known=known)

        measure("translate", translate)
        partner_id = next(iter(pipeline.partners.partners))
        built = measure("outbox", lambda: build_batches(pipeline, partner_id, "837P", force=True))
        mailbox = Mailbox(work / "mailbox", load_rules(FIXTURES / "rules.yaml"), load_roster(FIXTURES / "roster.yaml"),
                          sender_id="SIMPLAN01", payment_delay_seconds=0)
        for batch in built:
            first = pipeline.repository.batch_members(partner_id, batch.isa13)[0]
            send = measure("transport", lambda first=first: batch_to_send(pipeline, first.id))
            (mailbox.inbound / send.file_name).write_bytes(send.data)
            measure("transport", lambda send=send: batch_sent(pipeline, send))
        mailbox.process_once()
        mailbox.pay_due()
        answers = []
        for path in sorted(mailbox.outbound.iterdir()):
            raw = path.read_bytes()
            kind = detect_document_type(raw) or "?"
            inbound_id, _ = pipeline.repository.record_inbound(partner_id, path.name, pipeline.payloads.put(raw),
                                                               document_type=kind)
            answers.append((("999", "277CA", "835").index(kind) if kind in ("999", "277CA", "835") else 9, kind,
                            inbound_id))
        for _order, kind, inbound_id in sorted(answers):
            measure(kind, lambda inbound_id=inbound_id: process_inbound(pipeline, inbound_id))
        database_cpu = _tree_cpu_seconds(postmaster) - database_before
        with pipeline.repository.engine.connect() as connection:
            states = dict(connection.execute(text("SELECT state, count(*) FROM transactions GROUP BY state")).all())
            rows = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                    for table in ("transaction_events", "audit_entries", "payloads", "outbox")}
    print(f"{'stage':12s} {'ms CPU/claim':>12s}")
    for name, seconds in costs.items():
        print(f"{name:12s} {seconds / count * 1000:12.2f}")
    print(f"{'total':12s} {sum(costs.values()) / count * 1000:12.2f}")
    print(f"{'PostgreSQL':12s} {database_cpu / count * 1000:12.2f}  (its processes' CPU, all stages and the setup between them)")
    print(f"states {states}; rows {rows}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stages", description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--profile", help="directory for one cProfile dump per stage")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
