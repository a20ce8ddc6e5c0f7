"""What ``edi api``, ``edi worker``, ``edi run``, ``edi migrate`` and ``edi replay`` do.

All of them read the same environment (``edi.settings``); ``edi run`` adds the embedded payer
simulator, a demo callback receiver and a sample partner configuration so that a new user can
send an eligibility check and a claim with curl a minute after installing.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from connectors.api import create_app
from connectors.api.auth import api_auth_options
from connectors.delivery.receiver import CallbackReceiver
from connectors.heap import freeze_startup_heap
from connectors.http_server import ServerThread
from connectors.ingest.runner import DoorRunner
from connectors.loop import LoopThread
from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.inspect import audit_replays, cli_actor, show_transaction
from connectors.pipeline.runner import PipelineRunner
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from connectors.pipeline.workers import deliver_pending
from edi.logs import configure_logging
from edi.pipeline import STAGES
from edi.pipeline import delivery_plan as plan
from edi.settings import DoorSettings, Settings
from edi.store import ALL_SUBMITTERS, State, TransactionFilter, TransactionNotFoundError, migrate

__all__ = ["run_all", "run_api", "run_doors", "run_migrate", "run_replay", "run_show", "run_worker"]

FIXTURES = Path(__file__).resolve().parent.parent / "payer_sim" / "sample"


def _configure_logs(service: str = "edi", default_level: str = "WARNING") -> None:
    """JSON logs with PHI redaction (``edi.logs``) at ``EDI_LOG_LEVEL``; httpx and asyncssh are
    held at WARNING (httpx logs every request URL at INFO, URLs may carry ids a log must not hold)."""
    configure_logging(os.environ.get("EDI_LOG_LEVEL") or default_level, service=service)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


def _until_signalled() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def run_migrate() -> str:
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url, lookup_key=settings.lookup_key())
    return settings.database_url.split("@")[-1]


def run_worker(stages: list[str] | None = None, *, relay: bool = True, sweeper: bool = True,
               pollers: bool = True, prefetch: int = 1) -> None:
    _configure_logs("worker")
    settings = Settings.from_env()
    pipeline = open_pipeline(settings)
    runner = PipelineRunner(pipeline, broker_url=settings.broker_url, stages=stages or STAGES, relay=relay,
                            sweeper=sweeper, pollers=pollers, prefetch=prefetch).start()
    freeze_startup_heap()
    print(f"worker: stages {', '.join(runner.stages)}", flush=True)
    try:
        _until_signalled()
    finally:
        runner.stop()


def run_doors() -> None:
    """The ingest doors of every submitter that has ``doors`` in the partners file."""
    _configure_logs("doors")
    settings = Settings.from_env()
    pipeline = open_pipeline(settings)
    doors = DoorRunner(pipeline, DoorSettings.from_env()).start()
    freeze_startup_heap()
    for line in doors.listening:
        print(f"doors: {line}", flush=True)
    try:
        _until_signalled()
    finally:
        doors.stop()


def run_api(host: str, port: int, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
            workers: int = 1) -> None:
    _configure_logs("api")
    settings = Settings.from_env()
    if workers > 1:
        _run_api_processes(settings, host, port, workers, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
        return
    pipeline = open_pipeline(settings)
    app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline,
                     **_auth(pipeline))
    server = ServerThread(app, host, port, lifespan="on", ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile).start()
    freeze_startup_heap()
    print(f"api: {server.url}  (OpenAPI: {server.url}/docs)", flush=True)
    try:
        _until_signalled()
    finally:
        server.stop()


def api_app() -> Any:
    """The API of one worker process of ``edi api --workers N`` (uvicorn imports and calls it)."""
    _configure_logs("api")
    pipeline = open_pipeline(Settings.from_env(), upgrade=False)  # the supervisor migrated the store
    app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline,
                     **_auth(pipeline))
    freeze_startup_heap()
    return app


def _run_api_processes(settings: Settings, host: str, port: int, workers: int, *,
                       ssl_certfile: str | None, ssl_keyfile: str | None) -> None:
    """Serve the API from ``workers`` processes, each accepting on its own listening socket.

    A Python process runs its request handling (validation, encryption, X12, the ORM) on one core
    at a time; a real-time eligibility request is CPU work around a network wait, so one process
    per core is what lets the API use the machine. Every worker opens its own pipeline (database
    pool, payload store, CORE clients); the store is the only state they share, as with several
    ``edi worker`` processes. uvicorn's supervisor restarts a worker that dies.
    """
    import uvicorn

    migrate(settings.database_url)
    sockets = listening_sockets(host, port, workers)
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if ssl_certfile else "http"
    url = f"{scheme}://{shown}:{sockets[0].getsockname()[1]}"
    config = uvicorn.Config("connectors.pipeline.commands:api_app", factory=True, workers=workers,
                            log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2,
                            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    print(f"api: {url}  (OpenAPI: {url}/docs; {workers} processes)", flush=True)
    try:
        _supervisor(config, sockets).run()
    finally:
        for sock in sockets:
            sock.close()


def listening_sockets(host: str, port: int, count: int) -> list[Any]:
    """``count`` sockets listening on one address, so that each API process accepts on its own.

    Processes sharing one listening socket do not share its connections evenly: the process that
    went back to waiting last is woken first, and in the eligibility benchmark one of two took
    about 72% of the connections, so its requests queued for the core while the other idled. With
    ``SO_REUSEPORT`` (Linux, the BSDs) the kernel spreads new connections over the sockets by a hash
    of their addresses. Where the option is missing, one shared socket serves every process. All
    are bound and listening before a process starts, so no connection finds the port closed; the
    supervisor keeps them open, so a restarted process takes over its predecessor's queue.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shared = count > 1 and hasattr(socket, "SO_REUSEPORT")
    sockets: list[Any] = []
    for _ in range(count if shared else 1):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, sockets[0].getsockname()[1] if sockets else port))
        sock.listen(2048)  # connections made right after the URL is printed wait for a worker
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def _socket_per_process_class() -> Any:
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors.multiprocess import Multiprocess, Process, logger

    class _SocketPerProcess(Multiprocess):
        """uvicorn's supervisor, with worker ``i`` (and its replacements) serving socket ``i``
        of ``listening_sockets`` (all of them when there is only one)."""

        def _process(self, index: int) -> Any:
            return Process(self.config, [self.sockets[index % len(self.sockets)]])

        def init_processes(self) -> None:
            for index in range(self.processes_num):
                process = self._process(index)
                process.start()
                self.processes.append(process)

        def restart_all(self) -> None:
            for index, old in enumerate(self.processes):
                if self.should_exit.is_set():
                    return
                new = self._process(index)
                new.start()
                if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                    new.kill()
                    new.join()
                    return
                old.terminate()
                old.join()
                self.processes[index] = new

        def keep_subprocess_alive(self) -> None:
            if self.should_exit.is_set():
                return
            for index, process in enumerate(self.processes):
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                    self.should_exit.set()
                    return
                if self.should_exit.is_set():
                    return
                logger.info(f"Child process [{process.pid}] died")
                process = self._process(index)
                process.start()
                self.processes[index] = process

    return _SocketPerProcess


def _supervisor(config: Any, sockets: list[Any]) -> Any:
    """uvicorn's multiprocess supervisor giving each worker its own socket (``listening_sockets``);
    the class is built on first use so that importing this module does not import uvicorn."""
    return _socket_per_process_class()(config, sockets)


def run_all(host: str = "127.0.0.1", port: int = 8000, *, window_seconds: float = 5.0,
            payment_delay: float = 10.0, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
    """The whole pipeline on the embedded default, with a payer simulator and a callback receiver;
    the API over HTTPS with ``ssl_certfile``/``ssl_keyfile`` (as ``edi api``)."""
    _configure_logs("run")
    settings = Settings.from_env()
    run_dir = settings.data_dir / "run"
    sim = EmbeddedPayerSim(FIXTURES / "roster.yaml", FIXTURES / "rules.yaml", run_dir / "mailbox",
                           sftp_password=_sim_password(run_dir), payment_delay=payment_delay).start()
    receiver: CallbackReceiver | None = None
    runner: PipelineRunner | None = None
    doors: DoorRunner | None = None
    api: ServerThread | None = None
    try:
        first = write_sample_config(run_dir / "config", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                    known_hosts_line=sim.known_hosts_line(), sftp_password=_sim_password(run_dir),
                                    window_seconds=window_seconds, doors_dir=run_dir / "doors")
        receiver = CallbackReceiver(first.webhook_secret, host=host, on_request=_show_delivery).start()
        config = write_sample_config(run_dir / "config", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                     known_hosts_line=sim.known_hosts_line(), sftp_password=_sim_password(run_dir),
                                     callback_url=receiver.url, api_key=first.api_key,
                                     webhook_secret=first.webhook_secret, window_seconds=window_seconds,
                                     doors_dir=run_dir / "doors", door_password=first.door_password)
        pipeline = open_pipeline(settings, partners_file=config.partners_file, create_key=True)
        core_options: dict[str, Any] = {}  # one set of CORE client options for the API and the workers
        runner = PipelineRunner(pipeline, broker_url=settings.broker_url, core_options=core_options).start()
        app = create_app(pipeline.repository, pipeline.payloads, pipeline.partners.api_keys(), pipeline=pipeline,
                         core_options=core_options, **_auth(pipeline))
        api = ServerThread(app, host, port, lifespan="on", ssl_certfile=ssl_certfile,
                           ssl_keyfile=ssl_keyfile).start()
        demo = {SUBMITTER_ID: pipeline.partners.submitters[SUBMITTER_ID]}  # its folder and SFTP doors
        doors = DoorRunner(pipeline, DoorSettings.from_env(), submitters=demo).start()
        freeze_startup_heap()
        print(f"api:       {api.url}  (OpenAPI: {api.url}/docs)", flush=True)
        print(f"api key:   {config.api_key}  (submitter {SUBMITTER_ID})", flush=True)
        print(f"callback:  {receiver.url}  (received: {receiver.url.rsplit('/', 1)[0]}/deliveries)", flush=True)
        print(f"payer-sim: core {sim.core_url}, sftp sftp://127.0.0.1:{sim.sftp_port} (payer id {sim.payer_id})",
              flush=True)
        for line in doors.listening:
            print(f"door:      {line}", flush=True)
        print(f"door login: {SUBMITTER_ID} / password in {config.partners_file.parent / 'door-sftp.password'}",
              flush=True)
        print(f"data:      {settings.data_dir}  (partners: {config.partners_file})", flush=True)
        print("ready; Ctrl-C stops", flush=True)
        _until_signalled()
    finally:
        if doors is not None:
            doors.stop()
        if api is not None:
            api.stop()
        if runner is not None:
            runner.stop()
        if receiver is not None:
            receiver.stop()
        sim.stop()


def _sim_password(run_dir: Path) -> str:
    import secrets

    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "sim-sftp.password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _show_delivery(request: Any) -> None:
    if request.verified:
        try:
            kind = request.json().get("type")
        except ValueError:
            kind = "?"
        print(f"callback received: {kind} (webhook-id {request.webhook_id}, signature verified)", flush=True)


def run_replay(transaction_ids: list[str], *, failed: bool = False, actor: str | None = None) -> dict[str, str]:
    """Deliver again the dead-lettered responses of the given (or all failed) transactions; each
    goes on the audit trail as ``replayed`` by ``actor`` (default: the OS user)."""
    _configure_logs("replay")
    who = cli_actor(actor)
    settings = Settings.from_env()
    pipeline = open_pipeline(settings, upgrade=False)
    ids = list(transaction_ids)
    if failed:
        cursor = None
        while True:
            page = pipeline.repository.list_transactions(
                TransactionFilter(ALL_SUBMITTERS, states=frozenset({State.FAILED})), limit=500, cursor=cursor)
            ids.extend(t.id for t in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    from connectors.delivery.webhooks import WebhookSender

    loop = LoopThread("replay")
    sender = loop.run(_sender(WebhookSender))
    outcomes: dict[str, str] = {}
    try:
        holder = plan.holder_name()
        for tid in dict.fromkeys(ids):
            if pipeline.repository.get(tid, submitter_id=ALL_SUBMITTERS) is None:
                outcomes[tid] = "not-found"  # (a lease needs the transaction's row)
                continue
            try:
                with plan.leased(pipeline, [tid], holder) as held:  # a worker sending it now: not twice
                    outcomes[tid] = deliver_pending(pipeline, tid, loop, sender, replay=True) if held else "busy"
            except TransactionNotFoundError:
                outcomes[tid] = "not-found"
    finally:
        loop.run(sender.aclose())
        loop.stop()
        audit_replays(pipeline, outcomes, who)
    return outcomes


def run_show(transaction_id: str, *, actor: str | None = None) -> dict[str, Any] | None:
    """A transaction with its decrypted request and responses, the read audited (``edi show``)."""
    who = cli_actor(actor)
    pipeline = open_pipeline(Settings.from_env(), upgrade=False)
    try:
        return show_transaction(pipeline, transaction_id, who)
    finally:
        pipeline.repository.engine.dispose()


async def _sender(factory: Any) -> Any:
    return factory()


def _auth(pipeline: Any) -> dict[str, Any]:
    """OAuth2 for the API when EDI_AUTH_* is set (the submitters' clients from the partners file)."""
    return api_auth_options({sid: s.oauth_clients for sid, s in pipeline.partners.submitters.items()})
