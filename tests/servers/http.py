"""Real HTTP servers on loopback for tests: an ASGI app under uvicorn in a thread, and a scripted
socket server for connection-level misbehaviour."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["RawHttpServer", "RawRequest", "free_socket", "serve"]


def free_socket() -> socket.socket:
    """A bound loopback socket on a free port (bind first, so the port cannot be taken meanwhile)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    """Run `app` under uvicorn in a thread on loopback; yields the base URL."""
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = time.monotonic()
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() - started < 10, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class RawRequest:
    connection: int  # 1 for the first connection accepted, 2 for the next, ...
    line: str  # the request line, e.g. "POST /core HTTP/1.1"
    headers: dict[str, str]  # names in lower case
    body: bytes


class RawHttpServer:
    """An HTTP/1.1 endpoint on plain sockets in threads, for what a real server does only by
    accident: drop a connection after reading a request, or act as a forward proxy.

    ``script(request)`` returns the bytes to write back (status line, headers and body; the
    connection stays open for the next request), or None to close the connection unanswered.
    Every request read is kept in ``requests``, in arrival order.
    """

    def __init__(self, script: Callable[[RawRequest], bytes | None]) -> None:
        self.script = script
        self.requests: list[RawRequest] = []
        self.connections = 0
        self._sock = free_socket()
        self._sock.listen(16)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> RawHttpServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            sockets = [self._sock, *self._open]
        for sock in sockets:  # shutdown first: it wakes a thread blocked in accept() or recv()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _address = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(conn)
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                line, *fields = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                request = RawRequest(number, line, headers, buffer[:length])
                buffer = buffer[length:]
                with self._lock:
                    self.requests.append(request)
                answer = self.script(request)
                if answer is None:
                    return
                conn.sendall(answer)
