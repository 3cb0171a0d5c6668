"""A real HTTP server on loopback that records what webhooks POST to it (for alert tests).

tests/conftest.py registers this module as a plugin: ``alert_hook`` runs ``phonesys alerts setup``
(twice: it must be idempotent) against the session's Prefect server, pointing at a receiver.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Received(list):
    """The JSON (or text) bodies posted so far, in arrival order; ``url`` is where they are posted."""

    url = ""

    def matching(self, *needles: str) -> list:
        return [body for body in list(self) if all(n in json.dumps(body) for n in needles)]


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            try:
                received.append(json.loads(raw))
            except ValueError:
                received.append(raw)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alert_hook(prefect_server, cli) -> Iterator[Received]:
    """What the alert automations deliver while the test runs."""
    with webhook_receiver() as (url, received):
        received.url = url
        first = cli("alerts", "setup", "--webhook-url", url, "--json")
        assert first.exit_code == 0, first.output
        again = cli("alerts", "setup", "--webhook-url", url, "--json")
        assert json.loads(again.stdout)["automations"] == json.loads(first.stdout)["automations"]
        yield received
