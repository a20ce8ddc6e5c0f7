"""The `edi` command line: the engine's operations for people and scripts.

Output meant for pipes (JSON, X12) goes to stdout and nothing else does; progress and diagnostics go
to stderr, and progress only when stderr is a terminal. Exit codes are part of the interface:
``validate`` exits 0 when every transaction set is accepted, 1 when any is rejected or accepted
with errors, 2 when an input cannot be read as X12 at all.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from edi.x12.ack import acknowledge_report
from edi.x12.findings import Finding, ValidationReport
from edi.x12.validator import Validator

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Healthcare EDI engine (HIPAA 5010 X12).")
x12_app = typer.Typer(no_args_is_help=True, help="Generic X12 tools.")
app.add_typer(x12_app, name="x12")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail (EDI_DATABASE_URL).")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(no_args_is_help=True, help="Master keys of the payload store (EDI_MASTER_KEYS_FILE).")
app.add_typer(keys_app, name="keys")
lookup_keys_app = typer.Typer(
    no_args_is_help=True, help="Lookup keys of the store's CLM01 digests (EDI_LOOKUP_KEY_FILE or <data>/lookup.key)."
)
app.add_typer(lookup_keys_app, name="lookup-keys")
clients_app = typer.Typer(no_args_is_help=True, help="OAuth2 clients of the submitters (EDI_PARTNERS_FILE).")
app.add_typer(clients_app, name="clients")
api_keys_app = typer.Typer(no_args_is_help=True, help="API keys of the submitters (EDI_PARTNERS_FILE).")
app.add_typer(api_keys_app, name="api-keys")

EXIT_ACCEPTED, EXIT_REJECTED, EXIT_UNREADABLE = 0, 1, 2


class _Progress:
    """Segments and transaction sets per second on a terminal; silent otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, segments: int, transactions: int) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.start, 1e-6)
        sys.stderr.write(
            f"\r{self.name}: {segments:,} segments ({segments / elapsed:,.0f}/s), "
            f"{transactions:,} transaction sets ({transactions / elapsed:,.0f}/s)"
        )
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _describe(f: Finding) -> str:
    where = []
    if f.segment_position is not None:
        where.append(f"segment {f.segment_position}")
    if f.segment_id:
        where.append(f.segment_id)
    if f.loop_id:
        where.append(f"(loop {f.loop_id})")
    if f.element_position is not None:
        pos = f"{f.element_position:02d}"
        if f.component_position:
            pos += f"-{f.component_position}"
        where.append(f"element {pos}")
    code = {"interchange": "TA1", "group": "AK9", "transaction": "IK5", "segment": "IK3", "element": "IK4"}[f.level]
    return f"{' '.join(where) + ': ' if where else ''}{f.message} [{code} {f.code}]" + (
        "" if f.severity == "error" else f" ({f.severity})"
    )


def _print_report(report: ValidationReport) -> None:
    """Verdicts for people: every finding, and a count instead of a line per clean set."""
    status = report.status.upper().replace("-", " ")
    out = [f"{report.source}: {status}"]
    out.extend(f"  {_describe(f)}" for f in report.findings)
    for isa in report.interchanges:
        out.append(f"  interchange {isa.control_number}: TA1 {isa.ta1_code}")
        out.extend(f"    {_describe(f)}" for f in isa.findings)
        for g in isa.groups:
            counts = {"A": 0, "E": 0, "R": 0}
            detail: list[str] = []
            for t in g.transactions:
                counts[t.ack_code] += 1
                if t.findings:
                    detail.append(f"      transaction set {t.transaction_set_id} {t.control_number}: IK5 {t.ack_code}")
                    detail.extend(f"        {_describe(f)}" for f in t.findings)
            out.append(
                f"    group {g.control_number} ({g.functional_id} {g.version}): AK9 {g.ack_code}, "
                f"{len(g.transactions)} transaction set(s): {counts['A']} accepted, "
                f"{counts['E']} accepted with errors, {counts['R']} rejected"
            )
            out.extend(f"      {_describe(f)}" for f in g.findings)
            out.extend(detail)
    sys.stdout.write("\n".join(out) + "\n")


def _exit_code(report: ValidationReport) -> int:
    if report.unreadable:
        return EXIT_UNREADABLE
    return EXIT_ACCEPTED if report.accepted else EXIT_REJECTED


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="X12 files to validate.")],
    ack_dir: Annotated[Path | None, typer.Option("--ack-dir", help="Write the 999/TA1 for each file here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
    ack_control_number: Annotated[int, typer.Option(help="First interchange control number of the acknowledgments.")] = 1,
    warn: Annotated[
        list[str] | None,
        typer.Option("--warn", help="IK3/IK4 code to accept with a note (IK5 E) instead of rejecting; repeatable."),
    ] = None,
) -> None:
    """Validate X12 files against their HIPAA 5010 implementation guides (SNIP 1 and 2)."""
    worst = EXIT_ACCEPTED
    reports = []
    for file in files:
        progress = _Progress(file.name)
        if str(file) == "-":
            report = Validator(progress=progress, warn_codes=set(warn or ())).run(sys.stdin.buffer, name="<stdin>")
        elif not file.exists() or file.is_dir():
            report = ValidationReport(source=str(file))
            report.findings.append(Finding("interchange", "unreadable", "No such file"))
        else:
            report = Validator(progress=progress, warn_codes=set(warn or ())).run(file)
        progress.done()
        reports.append(report)
        worst = max(worst, _exit_code(report))
        if ack_dir is not None and report.interchanges:
            ack_dir.mkdir(parents=True, exist_ok=True)
            acks = acknowledge_report(report, first_interchange=ack_control_number)
            ack_control_number += len(acks)
            if acks:
                suffix = ".999" if any("ST*999*" in a for a in acks) else ".ta1"
                (ack_dir / (file.name + suffix)).write_text("".join(acks), encoding="utf-8")
        if not as_json:
            _print_report(report)
    if as_json:
        out = [r.to_dict() for r in reports]
        typer.echo(json.dumps(out[0] if len(out) == 1 else out, indent=1))
    raise typer.Exit(worst)


@x12_app.command("to-json")
def x12_to_json(
    file: Annotated[Path, typer.Argument(help="X12 file.")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Any interchange as generic, lossless JSON (loops by guide loop id)."""
    from edi.x12.generic_json import to_json_text
    from edi.x12.reader import X12SyntaxError

    try:
        text = to_json_text(file)
    except (X12SyntaxError, OSError) as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    _emit(text.encode("utf-8"), output)


@x12_app.command("from-json")
def x12_from_json(
    file: Annotated[Path, typer.Argument(help="Generic JSON written by `edi x12 to-json`.")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Generic JSON back to the exact X12 bytes."""
    from edi.x12.generic_json import from_json_bytes

    try:
        data = from_json_bytes(file.read_bytes())
    except (ValueError, KeyError, TypeError, OSError) as exc:
        typer.echo(f"error: {file}: not a generic X12 JSON document ({type(exc).__name__}: {exc})", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    _emit(data, output)


@app.command()
def translate(
    file: Annotated[Path, typer.Argument(help="A canonical JSON request (or array / JSON Lines), or an X12 file; '-' for stdin.")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    sender_id: Annotated[str, typer.Option(help="ISA06/GS02 for JSON to X12.")] = "SUBMITTER",
    receiver_id: Annotated[str | None, typer.Option(help="ISA08/GS03 (default: tradingPartnerServiceId).")] = None,
    sender_qualifier: Annotated[str, typer.Option(help="ISA05.")] = "ZZ",
    receiver_qualifier: Annotated[str, typer.Option(help="ISA07.")] = "ZZ",
    control_number: Annotated[int, typer.Option(help="ISA13 interchange control number.")] = 1,
    group_control_number: Annotated[int, typer.Option(help="GS06 group control number.")] = 1,
    transaction_control_number: Annotated[int, typer.Option(help="ST02 of the first transaction set.")] = 1,
    usage: Annotated[str, typer.Option(help="ISA15: P production or T test.")] = "P",
) -> None:
    """JSON request to X12, or X12 (270, 271, 837, 999, TA1, 277, 277CA, 835) to canonical JSON, by content."""
    from edi.mappers.envelope import Envelope
    from edi.mappers.translate import TranslationError
    from edi.mappers.translate import translate as run_translate

    data = sys.stdin.buffer.read() if str(file) == "-" else _read_or_exit(file)
    envelope = None
    if not data.lstrip().startswith(b"ISA"):
        receiver = receiver_id or _trading_partner(data)
        envelope = Envelope(sender_id=sender_id, receiver_id=receiver or "RECEIVER",
                            interchange_control_number=control_number, group_control_number=group_control_number,
                            transaction_control_number=transaction_control_number, sender_qualifier=sender_qualifier,
                            receiver_qualifier=receiver_qualifier, usage=usage)
    try:
        result = run_translate(data, envelope)
    except TranslationError as exc:
        typer.echo(f"error: {exc}", err=True)
        for p in exc.problems:
            typer.echo(f"  {p.path or '(request)'}: {p.message}", err=True)
        raise typer.Exit(EXIT_REJECTED if exc.problems else EXIT_UNREADABLE) from None
    text = result.text if result.text.endswith("\n") else result.text + "\n"
    _emit(text.encode("utf-8", "surrogateescape"), output)


def _trading_partner(data: bytes) -> str | None:
    """tradingPartnerServiceId of the first request (JSON, array or JSON Lines), if readable."""
    text = data.decode("utf-8", "replace")
    try:
        first = json.loads(text)
    except ValueError:
        try:
            first = json.loads(next(line for line in text.splitlines() if line.strip()))
        except (ValueError, StopIteration):
            return None
    if isinstance(first, list):
        first = first[0] if first else None
    value = first.get("tradingPartnerServiceId") if isinstance(first, dict) else None
    return value if isinstance(value, str) else None


def _read_or_exit(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)



@app.command("payer-sim")
def payer_sim(
    roster: Annotated[Path, typer.Option("--roster", help="Member roster YAML.")],
    rules: Annotated[Path, typer.Option("--rules", help="Decision rules YAML.")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="0 picks a free port (the URL is printed).")] = 0,
    core_path: Annotated[str, typer.Option("--core-path", help="Path of the CORE SOAP endpoint.")] = "/core",
    receiver_id: Annotated[
        str | None, typer.Option("--receiver-id", help="CORE ReceiverID answered for (default: roster payer id).")
    ] = None,
    sender_id: Annotated[str | None, typer.Option("--sender-id", help="ISA06 of the 271s (default: roster payer id).")] = None,
    control_start: Annotated[int, typer.Option("--control-start", help="First ISA13/GS06 of the answers.")] = 1,
    mailbox: Annotated[
        Path | None, typer.Option("--mailbox", help="Run the batch mailbox on this directory (837 in; 999, 277CA, 835 out).")
    ] = None,
    payment_delay: Annotated[
        float, typer.Option("--payment-delay", help="Seconds before an 835 pays a batch's accepted claims.")
    ] = 5.0,
    sftp_port: Annotated[
        int | None, typer.Option("--sftp-port", help="Serve the mailbox over SFTP on this port (0 picks a free one).")
    ] = None,
    sftp_user: Annotated[str | None, typer.Option("--sftp-user", help="The only SFTP account accepted.")] = None,
    sftp_password_env: Annotated[
        str | None, typer.Option("--sftp-password-env", help="Environment variable holding the SFTP password.")
    ] = None,
    sftp_authorized_keys: Annotated[
        Path | None, typer.Option("--sftp-authorized-keys", help="authorized_keys file for SFTP logins.")
    ] = None,
    sftp_host_key: Annotated[
        Path | None,
        typer.Option("--sftp-host-key", help="SSH host key file; default: generated in the mailbox on first start."),
    ] = None,
) -> None:
    """Run the payer simulator: CORE endpoint answering 270s, optional SFTP batch mailbox; prints one line per listener."""
    # `edi` must not import `connectors` at module import time; this lazy import inside the CLI
    # entry point is the accepted exception (the simulator is a separate program the CLI launches).
    from connectors.payer_sim.server import main as payer_sim_main

    argv = ["--roster", str(roster), "--rules", str(rules), "--host", host, "--port", str(port)]
    argv += ["--core-path", core_path, "--control-start", str(control_start)]
    argv += ["--payment-delay", str(payment_delay)]
    if receiver_id is not None:
        argv += ["--receiver-id", receiver_id]
    if sender_id is not None:
        argv += ["--sender-id", sender_id]
    if mailbox is not None:
        argv += ["--mailbox", str(mailbox)]
    if sftp_port is not None:
        argv += ["--sftp-port", str(sftp_port)]
    if sftp_user is not None:
        argv += ["--sftp-user", sftp_user]
    if sftp_password_env is not None:
        argv += ["--sftp-password-env", sftp_password_env]
    if sftp_authorized_keys is not None:
        argv += ["--sftp-authorized-keys", str(sftp_authorized_keys)]
    if sftp_host_key is not None:
        argv += ["--sftp-host-key", str(sftp_host_key)]
    raise typer.Exit(payer_sim_main(argv))

@app.command()
def migrate() -> None:
    """Create or upgrade the transaction store's schema (EDI_DATABASE_URL)."""
    from connectors.pipeline.commands import run_migrate

    typer.echo(f"schema up to date: {run_migrate()}")


@app.command()
def worker(
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Stage(s) to consume (repeat); default all.")
    ] = None,
    relay: Annotated[bool, typer.Option(help="Publish the store's outbox to the queues.")] = True,
    sweeper: Annotated[bool, typer.Option(help="Re-queue due and stale transactions.")] = True,
    pollers: Annotated[bool, typer.Option(help="Collect partners' SFTP outbound files.")] = True,
    prefetch: Annotated[int, typer.Option(help="Unacknowledged messages per consumer.")] = 1,
) -> None:
    """Run pipeline stages until SIGTERM (configured by EDI_* environment variables)."""
    from connectors.pipeline.commands import run_worker

    run_worker(stage, relay=relay, sweeper=sweeper, pollers=pollers, prefetch=prefetch)


@app.command()
def api(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="Serve HTTPS with this PEM certificate (chain).")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="The certificate's PEM private key.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes serving the API (one per core).")] = 1,
) -> None:
    """Serve the REST API (configured by EDI_* environment variables); HTTPS with --ssl-certfile."""
    from connectors.pipeline.commands import run_api

    if (ssl_certfile is None) != (ssl_keyfile is None):
        typer.echo("error: give both --ssl-certfile and --ssl-keyfile, or neither", err=True)
        raise typer.Exit(2)
    run_api(host, port, ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None, workers=workers)


doors_app = typer.Typer(invoke_without_command=True, help="Run the ingest doors (folder, SFTP, S3, AMQP, JMS) of "
                        "the submitters in EDI_PARTNERS_FILE; `edi doors open` reads a kept file back.")
app.add_typer(doors_app, name="doors")


@doors_app.callback()
def doors(ctx: typer.Context) -> None:
    """Run the ingest doors (folder, SFTP, S3, AMQP, JMS) of the submitters in EDI_PARTNERS_FILE."""
    if ctx.invoked_subcommand is not None:
        return
    from connectors.pipeline.commands import run_doors

    run_doors()


@app.command("hash-password")
def hash_password() -> None:
    """Print the scrypt hash of a password read from stdin, for a submitter's doors.sftp.password_hash."""
    import sys

    from connectors.ingest.sftp_server import hash_password as make_hash

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise typer.BadParameter("the password is empty")
    typer.echo(make_hash(password))


@app.command()
def run(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="API port.")] = 8000,
    window: Annotated[float, typer.Option("--batch-window", help="Seconds claims wait for a batch.")] = 5.0,
    payment_delay: Annotated[float, typer.Option("--payment-delay", help="Seconds before the simulator pays.")] = 10.0,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="Serve the API over HTTPS with this PEM certificate (chain).")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="The certificate's PEM private key.")] = None,
) -> None:
    """Everything on the embedded default: API, all stages, a payer simulator, a callback receiver."""
    from connectors.pipeline.commands import run_all

    if (ssl_certfile is None) != (ssl_keyfile is None):
        typer.echo("error: give both --ssl-certfile and --ssl-keyfile, or neither", err=True)
        raise typer.Exit(2)
    run_all(host, port, window_seconds=window, payment_delay=payment_delay,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)


_ACTOR_HELP = "Who is asking, for the audit trail (default: cli: and the OS user)."


def _check_actor(actor: str | None) -> None:
    from connectors.pipeline.inspect import cli_actor

    try:
        cli_actor(actor)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@doors_app.command("open")
def doors_open(
    path: Annotated[Path, typer.Argument(help="A NAME.ID.enc file in a door's archive/ or quarantine/.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write; default stdout.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help=_ACTOR_HELP)] = None,
) -> None:
    """Print the original bytes of a sealed archive or quarantine file (it holds PHI).

    Only files in the folders of the doors in EDI_PARTNERS_FILE; the read goes on the audit trail
    (who, which submitter, which folder and file id) before anything is printed.
    """
    from connectors.pipeline.maintenance import DoorFileError, run_doors_open

    _check_actor(actor)
    try:
        data = run_doors_open(path, actor=actor)
    except DoorFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    _emit(data, output)


@app.command()
def replay(
    transaction_id: Annotated[list[str] | None, typer.Argument(help="Transactions to deliver again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed transaction.")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help=_ACTOR_HELP)] = None,
) -> None:
    """Deliver dead-lettered callbacks again (same webhook-id and body, current configuration).

    Each replay goes on the audit trail as ``replayed`` by the operator.
    """
    from connectors.pipeline.commands import run_replay

    if not transaction_id and not failed:
        typer.echo("give transaction ids or --failed", err=True)
        raise typer.Exit(2)
    _check_actor(actor)
    results = run_replay(transaction_id or [], failed=failed, actor=actor)
    for tid, outcome in results.items():
        typer.echo(f"{tid} {outcome}")
    if any(outcome not in ("delivered", "waiting") for outcome in results.values()):
        raise typer.Exit(1)


@app.command()
def show(
    transaction_id: Annotated[str, typer.Argument(help="The transaction to show.")],
    actor: Annotated[str | None, typer.Option("--actor", help=_ACTOR_HELP)] = None,
) -> None:
    """One transaction as JSON: state, history, request and responses (decrypted: it holds PHI).

    The read goes on the audit trail (who, which transaction) before anything is printed.
    """
    from connectors.pipeline.commands import run_show

    _check_actor(actor)
    view = run_show(transaction_id, actor=actor)
    if view is None:
        typer.echo(f"error: no transaction {transaction_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(view, indent=1, ensure_ascii=False))


@app.command()
def report(
    kind: Annotated[str, typer.Argument(help="volume, acceptance, overdue, turnaround, phi-access or deliveries.")],
    start: Annotated[str, typer.Option("--from", help="First day or moment (ISO, UTC unless given).")],
    end: Annotated[str, typer.Option("--to", help="Last day (included) or moment (excluded).")],
    fmt: Annotated[str, typer.Option("--format", help="csv, json, html or pdf.")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="phi-access: the reader (actor) to report on.")] = None,
    member: Annotated[
        str | None, typer.Option("--member", help="phi-access: the member id; '-' reads it from stdin (keeps it "
                                 "out of shell history and the process list).")
    ] = None,
    officer: Annotated[
        str | None, typer.Option("--officer", help="phi-access --member: your id, recorded as the reader.")
    ] = None,
) -> None:
    """Write a report over the store and audit trail (EDI_DATABASE_URL; --member needs the key ring)."""
    from edi.reports import ReportError, Window, generate
    from edi.reports.render import render
    from edi.settings import Settings
    from edi.store import make_engine

    settings = Settings.from_env()
    if member == "-":
        member = sys.stdin.readline().strip() or None
    try:
        window = Window.parse(start, end)
        payloads = None
        if member is not None:
            from connectors.pipeline.runtime import open_payload_store

            payloads = open_payload_store(settings)
        engine = make_engine(settings.database_url)
        try:
            data = render(generate(kind, engine, window, user=user, member=member, payloads=payloads,
                                   officer=officer), fmt)
        finally:
            engine.dispose()
    except ReportError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    _emit(data, output)


@audit_app.command("verify")
def audit_verify(
    expect: Annotated[
        str | None, typer.Option("--expect", help="POSITION:HASH of a head printed earlier: it must still be there.")
    ] = None,
) -> None:
    """Check the audit chain; exit 1 naming the position of any edited, removed, inserted or moved record."""
    from edi.audit.verify import verify_chain
    from edi.settings import Settings
    from edi.store import make_engine

    anchor = None
    if expect is not None:
        position, _, digest = expect.partition(":")
        if not position.isdigit() or len(digest) != 64:
            typer.echo("error: --expect takes POSITION:HASH (the 64 hex digits printed by a previous verify)", err=True)
            raise typer.Exit(2)
        anchor = (int(position), digest.lower())
    engine = make_engine(Settings.from_env().database_url)
    try:
        report = verify_chain(engine, expect=anchor)
    finally:
        engine.dispose()
    for problem in report.problems:
        typer.echo(f"TAMPERED at {problem}")
    summary = (f"{report.sealed} sealed records, head {report.head_position}:{report.head_hash}, "
               f"{report.unsealed} awaiting sealing")
    if not report.ok:
        typer.echo(f"audit trail FAILED verification ({summary})", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {summary}")


@audit_app.command("seal")
def audit_seal() -> None:
    """Chain every committed, unsealed audit entry now (run it periodically, or from a worker)."""
    from edi.audit.sealer import seal_all
    from edi.settings import Settings
    from edi.store import make_engine

    engine = make_engine(Settings.from_env().database_url)
    try:
        typer.echo(f"sealed {seal_all(engine)} audit entries")
    finally:
        engine.dispose()


def _key_error(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(2)


@keys_app.command("new")
def keys_new(
    key_id: Annotated[str | None, typer.Option("--id", help="Id of the new key (default: the next kN).")] = None,
    current: Annotated[bool, typer.Option("--current", help="Make it the key new payloads are sealed with.")] = False,
) -> None:
    """Add a freshly generated master key to the key-ring file; prints its id, never the key."""
    from connectors.pipeline.maintenance import run_keys_new
    from edi.keys import KeyRingError

    try:
        new_id, ring = run_keys_new(key_id, current=current)
    except KeyRingError as error:
        raise _key_error(error) from None
    typer.echo(f"added master key {new_id}; current key: {ring.current}")


@keys_app.command("rotate")
def keys_rotate(
    make_current: Annotated[
        str | None, typer.Option("--make-current", help="Make this key id current first.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Rotate in this process and return when done.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Objects per batch.")] = 100,
    pause: Annotated[float, typer.Option("--pause", min=0.0, help="Seconds to rest between batches.")] = 0.0,
) -> None:
    """Re-encrypt every stored payload and the doors' archive and quarantine files under the current
    key, in the background unless --wait.

    Resumable: run it again after an interruption. Progress shows counts and key ids only.
    """
    from connectors.ingest.sealed_files import FileRotation
    from connectors.pipeline.maintenance import run_keys_rotate, start_rotation
    from edi.keys import KeyRingError
    from edi.store.rotation import RotationProgress

    try:
        if not wait:
            pid, log = start_rotation(make_current, batch_size=batch_size, pause=pause)
            typer.echo(f"rotation running in the background (pid {pid}, progress in {log}); "
                       "`edi keys status` shows what is left")
            return

        def progress(report: RotationProgress) -> None:
            typer.echo(f"rotated {report.rotated}, corrected {report.corrected}, missing {report.missing}, "
                       f"reply addresses {report.addresses}, failed {len(report.failed)} of {report.remaining_at_start} (key {report.key_id})", err=True)

        def file_progress(report: FileRotation) -> None:
            typer.echo(f"door files: rotated {report.rotated}, already current {report.current}, "
                       f"plaintext sealed {report.sealed}, failed {len(report.failed)} (key {report.key_id})", err=True)

        report, files = run_keys_rotate(make_current, batch_size=batch_size, pause=pause, progress=progress,
                                        file_progress=file_progress)
    except KeyRingError as error:
        raise _key_error(error) from None
    for failure in [*report.failed, *files.failed]:
        typer.echo(f"could not rotate {failure}", err=True)
    for large in files.too_large:
        typer.echo(f"left in plaintext (above EDI_DOORS_MAX_BYTES; `edi purge` removes it in time): {large}", err=True)
    typer.echo(f"rotation done under {report.key_id}: {report.rotated} rewritten, {report.corrected} rows corrected, "
               f"{report.missing} missing, {report.addresses} reply addresses resealed, {len(report.failed)} failed; "
               f"door files: {files.rotated} rewritten, {files.current} already current, {files.sealed} plaintext "
               f"sealed, {len(files.failed)} failed")
    if report.failed or files.failed:
        raise typer.Exit(1)


@keys_app.command("status")
def keys_status() -> None:
    """Per master key id: stored objects, door archive/quarantine files (and which ids the ring holds).

    One line per key id: KEY, objects, files, then marks (current, NOT IN RING), tab-separated.
    """
    from connectors.pipeline.maintenance import run_keys_status
    from edi.keys import KeyRingError

    try:
        rows = run_keys_status()
    except KeyRingError as error:
        raise _key_error(error) from None
    _print_key_usage(rows, files=True)


@keys_app.command("retire")
def keys_retire(key_id: Annotated[str, typer.Argument(help="The key id to remove from the ring.")]) -> None:
    """Remove an old key from the key-ring file; refused while any stored object or door file still needs it."""
    from connectors.pipeline.maintenance import run_keys_retire
    from edi.keys import KeyRingError

    try:
        ring = run_keys_retire(key_id)
    except KeyRingError as error:
        raise _key_error(error) from None
    typer.echo(f"retired {key_id}; the ring holds {', '.join(sorted(ring.keys))}")


def _print_key_usage(rows: list[Any], *, files: bool = False) -> None:  # maintenance.KeyStatus
    """KEY, count(s), then marks, tab-separated; ``files``: the doors' sealed files as a column too."""
    for row in rows:
        marks = ", ".join(m for m in ("current" if row.current else "", "" if row.in_ring else "NOT IN RING") if m)
        counts = f"{row.objects}\t{row.files}" if files else f"{row.objects}"
        typer.echo(f"{row.key_id}\t{counts}" + (f"\t{marks}" if marks else ""))


@lookup_keys_app.command("new")
def lookup_keys_new(
    key_id: Annotated[str | None, typer.Option("--id", help="Id of the new key (default: the next lN).")] = None,
    current: Annotated[bool, typer.Option("--current", help="Make it the key new digests are made with.")] = False,
) -> None:
    """Add a freshly generated lookup key to the ring file; prints its id, never the key.

    Give every process the new ring before making the key current (`rotate --make-current`):
    a process without it cannot match claims digested under it.
    """
    from connectors.pipeline.maintenance import run_lookup_keys_new
    from edi.keys import KeyRingError

    try:
        new_id, lookup = run_lookup_keys_new(key_id, current=current)
    except KeyRingError as error:
        raise _key_error(error) from None
    typer.echo(f"added lookup key {new_id}; current key: {lookup.current}")


@lookup_keys_app.command("rotate")
def lookup_keys_rotate(
    make_current: Annotated[
        str | None, typer.Option("--make-current", help="Make this key id current first.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Rotate in this process and return when done.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Claims per batch.")] = 100,
    pause: Annotated[float, typer.Option("--pause", min=0.0, help="Seconds to rest between batches.")] = 0.0,
) -> None:
    """Recompute every stored CLM01 digest under the current lookup key (from the encrypted
    requests), in the background unless --wait.

    Resumable: run it again after an interruption. Progress shows counts and key ids only.
    """
    from connectors.pipeline.maintenance import run_lookup_keys_rotate, start_lookup_rotation
    from edi.keys import KeyRingError
    from edi.pipeline.lookup_rotation import LookupRotationProgress

    try:
        if not wait:
            pid, log = start_lookup_rotation(make_current, batch_size=batch_size, pause=pause)
            typer.echo(f"lookup key rotation running in the background (pid {pid}, progress in {log}); "
                       "`edi lookup-keys status` shows what is left")
            return

        def progress(report: LookupRotationProgress) -> None:
            typer.echo(f"redigested {report.redigested}, forgotten {report.forgotten}, changed {report.changed}, "
                       f"failed {len(report.failed)} of {report.remaining_at_start} (key {report.key_id})", err=True)

        report = run_lookup_keys_rotate(make_current, batch_size=batch_size, pause=pause, progress=progress)
    except KeyRingError as error:
        raise _key_error(error) from None
    for failure in report.failed:
        typer.echo(f"could not recompute {failure}", err=True)
    typer.echo(f"lookup key rotation done under {report.key_id}: {report.redigested} recomputed, "
               f"{report.forgotten} forgotten (request purged), {report.changed} changed meanwhile, "
               f"{len(report.failed)} failed")
    if report.failed:
        raise typer.Exit(1)


@lookup_keys_app.command("status")
def lookup_keys_status() -> None:
    """Stored CLM01 digests per lookup key id (and which ids the ring holds)."""
    from connectors.pipeline.maintenance import run_lookup_keys_status
    from edi.keys import KeyRingError

    try:
        rows = run_lookup_keys_status()
    except KeyRingError as error:
        raise _key_error(error) from None
    _print_key_usage(rows)


@lookup_keys_app.command("retire")
def lookup_keys_retire(key_id: Annotated[str, typer.Argument(help="The lookup key id to remove.")]) -> None:
    """Remove an old lookup key from the ring file; refused while any stored digest was made with it."""
    from connectors.pipeline.maintenance import run_lookup_keys_retire
    from edi.keys import KeyRingError

    try:
        lookup = run_lookup_keys_retire(key_id)
    except KeyRingError as error:
        raise _key_error(error) from None
    typer.echo(f"retired lookup key {key_id}; the ring holds {', '.join(sorted(lookup.ring.keys))}")


_PARTNERS_HELP = "The partners file (default: EDI_PARTNERS_FILE)."
_WRITE_HELP = "Add the entry to the partners file (validated first; YAML comments are not kept)."


def _partners_path(path: Path | None) -> Path:
    import os

    found = path or (Path(os.environ["EDI_PARTNERS_FILE"]) if os.environ.get("EDI_PARTNERS_FILE") else None)
    if found is None:
        typer.echo("error: give --partners-file or set EDI_PARTNERS_FILE", err=True)
        raise typer.Exit(2)
    return found


def _show_credential(credential: object, submitter: str, what: str) -> None:
    from edi.auth.provision import NewCredential

    assert isinstance(credential, NewCredential)
    typer.echo(f"{what}: {credential.secret}")
    typer.echo("  (shown once: only its hash is kept; hand it to the submitter over a secure channel)", err=True)
    if credential.written:
        typer.echo(f"added to the partners file under submitters.{submitter}.{credential.key}; "
                   "restart the API to use it", err=True)
    else:
        typer.echo("add this to the partners file (or run again with --write):", err=True)
        typer.echo(credential.snippet(submitter), err=True)


@clients_app.command("new")
def clients_new(
    submitter: Annotated[str, typer.Argument(help="The submitter the client acts for.")],
    client_id: Annotated[str, typer.Option("--id", help="The client id.")],
    scope: Annotated[list[str], typer.Option("--scope", help="A scope it may be granted (repeat).")],
    partners_file: Annotated[Path | None, typer.Option("--partners-file", help=_PARTNERS_HELP)] = None,
    write: Annotated[bool, typer.Option("--write", help=_WRITE_HELP)] = False,
) -> None:
    """Create an OAuth2 client (client credentials grant): prints its generated secret once."""
    from edi.auth.provision import ProvisionError, new_oauth_client
    from edi.partners import PartnersConfigError

    path = _partners_path(partners_file)
    try:
        credential = new_oauth_client(path, submitter, client_id, scope, write=write)
    except (ProvisionError, PartnersConfigError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"client_id: {client_id}")
    _show_credential(credential, submitter, "client_secret")


@api_keys_app.command("new")
def api_keys_new(
    submitter: Annotated[str, typer.Argument(help="The submitter the key authenticates.")],
    partners_file: Annotated[Path | None, typer.Option("--partners-file", help=_PARTNERS_HELP)] = None,
    write: Annotated[bool, typer.Option("--write", help=_WRITE_HELP)] = False,
) -> None:
    """Create an API key (Authorization: Bearer KEY): prints it once, keeps only its SHA-256."""
    from edi.auth.provision import ProvisionError, new_api_key
    from edi.partners import PartnersConfigError

    path = _partners_path(partners_file)
    try:
        credential = new_api_key(path, submitter, write=write)
    except (ProvisionError, PartnersConfigError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    _show_credential(credential, submitter, "api_key")


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what is past retention.")] = False,
) -> None:
    """Remove payloads and audit entries past retention (EDI_RETENTION_PAYLOAD_DAYS, EDI_RETENTION_AUDIT_DAYS),
    the doors' outbound answers once picked up or old (EDI_RETENTION_OUTBOUND_PICKED_UP_HOURS,
    EDI_RETENTION_OUTBOUND_DAYS), their archive and quarantine files once old
    (EDI_RETENTION_ARCHIVE_DAYS, EDI_RETENTION_QUARANTINE_DAYS), and SFTP uploads left unanswered
    (EDI_RETENTION_UNANSWERED_UPLOAD_HOURS).

    Transactions, their events and deliveries are kept; see edi.store.retention,
    connectors.ingest.outbound_retention and connectors.ingest.sealed_files.
    """
    from connectors.pipeline.maintenance import run_purge

    try:
        report = run_purge(dry_run=dry_run)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    verb = "would remove" if report.dry_run else "removed"
    typer.echo(f"payloads before {report.payload_cutoff.isoformat()}: {verb} the payloads of {report.transactions} "
               f"transactions ({report.payload_rows} references), {report.inbound_documents} inbound documents"
               + ("" if report.dry_run else f", {report.objects} stored objects"))
    typer.echo(f"audit before {report.audit_cutoff.isoformat()}: {verb} {report.audit_entries} entries"
               + (f"; the chain now starts after {report.anchor[0]}:{report.anchor[1]}" if report.anchor else ""))
    typer.echo(f"doors' outbound answers picked up or past retention: {verb} {report.outbound_files} files")
    assert report.archive_cutoff is not None and report.quarantine_cutoff is not None
    typer.echo(f"doors' archive before {report.archive_cutoff.isoformat()}: {verb} {report.archive_files} files; "
               f"quarantine before {report.quarantine_cutoff.isoformat()}: {verb} {report.quarantine_files} files")
    typer.echo(f"SFTP uploads left unanswered: {verb} {report.leftover_uploads} files")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
