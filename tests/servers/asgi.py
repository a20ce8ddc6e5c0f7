"""One HTTP POST straight into an ASGI app, no sockets and no HTTP client: for measuring or checking
an app's own work (the payer simulator's CORE endpoint) without a client's cost in the figure."""

from __future__ import annotations

from typing import Any

__all__ = ["post_asgi"]


async def post_asgi(app: Any, path: str, body: bytes, content_type: bytes) -> tuple[int, bytes]:
    """(status, body) of ``app``'s answer to a POST of ``body`` to ``path``."""
    sent: list[dict[str, Any]] = []
    events = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return events.pop() if events else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])
