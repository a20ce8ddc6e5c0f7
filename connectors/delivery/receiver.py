"""A small callback receiver that verifies Standard Webhooks signatures and records what arrived.

The other end of ``connectors.delivery.webhooks``, for the tests, the end-to-end runs and the
README walkthrough: an ASGI app served by uvicorn (a bare ASGI app) in a background thread on a port of its
own. Every POST to its path is verified with the ``standardwebhooks`` library (signature,
timestamp within five minutes); bad or missing signatures get 401. Verified requests are
answered from a script of replies (``Reply``: status, delay, headers, body; 200 once the
script runs out), so a test can make it fail twice and then succeed, answer 429 with a
``Retry-After``, stall past a timeout or redirect. Each request is recorded with its
``webhook-id``, so retries and duplicates can be told apart.

Run it on its own with ``python -m connectors.delivery.receiver --secret whsec_...`` (a secret
is made up and printed if none is given); it prints one line per delivery, and the JSON with
``--show-body`` (the demo's synthetic data: bodies are PHI in real use). ``GET /deliveries``
lists what arrived. It listens on loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError

from connectors.delivery.webhooks import new_secret

__all__ = ["CallbackReceiver", "ReceivedRequest", "Reply", "create_app", "main"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer to a verified request."""

    status: int = 200
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class ReceivedRequest:
    """One POST as the receiver saw it. ``body`` is kept for the test to inspect and out of ``repr``."""

    webhook_id: str | None
    timestamp: str | None
    verified: bool
    rejection: str | None
    status: int
    duplicate: bool
    host_header: str | None
    received_at: float
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


class CallbackReceiver:
    """The receiver, served in a thread: ``with CallbackReceiver(secret) as r: ... r.url ... r.deliveries``."""

    def __init__(
        self,
        secret: str | bytes,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/callback",
        replies: Iterable[Reply | int] = (),
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        on_request: Callable[[ReceivedRequest], None] | None = None,
    ) -> None:
        self.webhook = Webhook(secret)
        self.host = host
        self.path = path if path.startswith("/") else "/" + path
        self._requested_port = port
        self._certfile, self._keyfile = certfile, keyfile
        self._on_request = on_request
        self._script: deque[Reply] = deque()
        self._requests: list[ReceivedRequest] = []
        self._accepted_ids: set[str] = set()
        self._changed = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = port
        self.app = create_app(self)
        self.reply(*replies)

    # -------------------------------------------------------------- script and records

    def reply(self, *replies: Reply | int) -> None:
        """Queue answers for the next verified requests (an int is a bare status)."""
        with self._changed:
            self._script.extend(r if isinstance(r, Reply) else Reply(status=r) for r in replies)

    def next_reply(self) -> Reply:
        with self._changed:
            return self._script.popleft() if self._script else Reply()

    def record(self, request: ReceivedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
        if self._on_request is not None:
            self._on_request(request)

    def is_duplicate(self, webhook_id: str, status: int) -> bool:
        """Whether a webhook-id was accepted before; remembers it when this answer accepts it."""
        with self._changed:
            seen = webhook_id in self._accepted_ids
            if 200 <= status < 300:
                self._accepted_ids.add(webhook_id)
            return seen

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every POST received, verified or not, in order."""
        with self._changed:
            return list(self._requests)

    @property
    def deliveries(self) -> list[ReceivedRequest]:
        """Verified requests answered 2xx, first one per webhook-id (duplicates left out)."""
        return [r for r in self.requests if r.verified and 200 <= r.status < 300 and not r.duplicate]

    @property
    def rejected(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if not r.verified]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until ``count`` deliveries have arrived (or the timeout passes) and return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [r for r in self._requests if r.verified and 200 <= r.status < 300 and not r.duplicate]
                remaining = deadline - time.monotonic()
                if len(got) >= count or remaining <= 0:
                    return got
                self._changed.wait(remaining)

    # -------------------------------------------------------------- serving

    @property
    def scheme(self) -> str:
        return "https" if self._certfile else "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def start(self, timeout: float = 10.0) -> CallbackReceiver:
        if self._server is not None:
            raise RuntimeError("receiver already running")
        family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2,
            ssl_certfile=str(self._certfile) if self._certfile else None,
            ssl_keyfile=str(self._keyfile) if self._keyfile else None,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="callback-receiver",
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("callback receiver did not start")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        if sock is not None:
            sock.close()

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def create_app(receiver: CallbackReceiver) -> Any:
    """The receiver's HTTP side, a bare ASGI app: POST ``receiver.path`` to deliver, ``GET /deliveries``
    to list. No framework: the benchmark serves thousands of callbacks a second from it on the
    same cores as the pipeline it measures, so it does only what a receiver must (read the body,
    verify the signature with the library, answer) and stays out of the figures."""
    path = receiver.path.encode()

    async def receive(scope: dict[str, Any], read: Any) -> tuple[ReceivedRequest, Reply]:
        chunks = []
        while True:
            event = await read()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        webhook_id = headers.get("webhook-id")
        rejection: str | None = None
        try:
            receiver.webhook.verify(body, headers, json_parse=False)
            json.loads(body)
        except WebhookVerificationError as exc:
            rejection = str(exc)
        except ValueError:  # malformed signature list, bad base64, not UTF-8, not JSON
            rejection = "malformed signature or body"
        if rejection is not None:
            reply = Reply(status=401)
        else:
            reply = receiver.next_reply()
            if reply.delay:
                await asyncio.sleep(reply.delay)
        verified = rejection is None
        duplicate = verified and webhook_id is not None and receiver.is_duplicate(webhook_id, reply.status)
        request = ReceivedRequest(
            webhook_id=webhook_id, timestamp=headers.get("webhook-timestamp"), verified=verified,
            rejection=rejection, status=reply.status, duplicate=duplicate, host_header=headers.get("host"),
            received_at=time.time(), headers=headers, body=body,
        )
        receiver.record(request)
        return request, reply

    def listing() -> bytes:
        return json.dumps([
            {"webhookId": r.webhook_id, "timestamp": r.timestamp, "duplicate": r.duplicate, "body": r.json()}
            for r in receiver.requests if r.verified and 200 <= r.status < 300
        ]).encode()

    async def answer(send: Any, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
                     content_type: bytes | None = None) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        if content_type is not None:
            raw.append((b"content-type", content_type))
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], read: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        target = scope["path"].encode("utf-8")
        if target == path and scope["method"] == "POST":
            _request, reply = await receive(scope, read)
            await answer(send, reply.status, reply.body, reply.headers)
        elif target == b"/deliveries" and scope["method"] == "GET":
            await answer(send, 200, listing(), content_type=b"application/json")
        elif target in (path, b"/deliveries"):
            await answer(send, 405, b'{"detail":"Method Not Allowed"}', content_type=b"application/json")
        else:
            await answer(send, 404, b'{"detail":"Not Found"}', content_type=b"application/json")

    return app


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m connectors.delivery.receiver``: run a receiver in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m connectors.delivery.receiver", description=__doc__.split("\n")[0])
    parser.add_argument("--secret", help="whsec_... signing secret (made up and printed if omitted)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--path", default="/callback")
    parser.add_argument("--show-body", action="store_true", help="print each delivered JSON (demo data only)")
    args = parser.parse_args(argv)
    secret = args.secret or new_secret()

    def show(r: ReceivedRequest) -> None:
        state = "duplicate" if r.duplicate else ("verified" if r.verified else f"REJECTED ({r.rejection})")
        print(f"{r.webhook_id} {state} -> {r.status}, {len(r.body)} bytes", flush=True)
        if args.show_body and r.verified:
            print(json.dumps(r.json(), indent=2), flush=True)

    receiver = CallbackReceiver(secret, host=args.host, port=args.port, path=args.path, on_request=show)
    with receiver:
        print(f"callback receiver listening on {receiver.url}", flush=True)
        if not args.secret:
            print(f"secret: {secret}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
