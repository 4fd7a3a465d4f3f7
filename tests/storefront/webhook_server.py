"""A storefront's webhook endpoint on 127.0.0.1 for tests: records what it receives and answers
with the status codes it is told to, in order (then 200)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookServer:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def event_ids(self) -> list[str]:
        return [r.headers["X-Backorder-Event-Id"] for r in self.received]


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    with serve_webhooks() as server:
        yield server


@contextmanager
def serve_webhooks() -> Iterator[WebhookServer]:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, shut down on exit."""
    server_state = WebhookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with server_state.lock:
                server_state.received.append(Received(dict(self.headers.items()), body))
                status = server_state.answers.pop(0) if server_state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
