"""A request that finds every pooled database connection in use past the pool's timeout is answered
503 ``server-busy`` with ``Retry-After`` (not a 500): the server is busy, and the client may retry.

The app is built as ``phonesys web`` builds it, then given an engine of the same database whose pool
holds one connection and waits a fifth of a second for it; the test holds that connection and asks,
through a real uvicorn server on a loopback port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine

from phonesys.ops.localserver import free_port
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import interactive
from phonesys.storage.inventory.orgs import load_org
from phonesys.web.app import create_app
from tests.conftest import make_document
from tests.webserver import assert_problem, bearer, token

POOL_WAIT = 0.2  # seconds a request waits for a pooled connection before giving up


@contextmanager
def served(app: FastAPI) -> Iterator[httpx.Client]:
    """``app`` on a free loopback port in a uvicorn server of this process, until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_request_finding_the_pool_exhausted_is_503_server_busy(engine, database_url, cli, phonesys_env):
    document = make_document()
    load_org(engine, document)
    secret = token(cli, document.org_uuid, "--name", "pool", "--role", "viewer")
    settings = load_settings()
    app = create_app(settings)
    small = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=POOL_WAIT)
    app.state.engine = interactive(small, settings.lock_timeout)
    licenses = f"/api/v1/orgs/{document.org_uuid}/licenses"
    try:
        with served(app) as client:
            with small.connect():  # the pool's only connection, held by "another request"
                busy = client.get(licenses, headers=bearer(secret))
            body = assert_problem(busy, 503, "server-busy")
            assert busy.headers["Retry-After"] == "1" and "retry" in body["detail"].lower()
            answer = client.get(licenses, headers=bearer(secret))  # the connection is back: served as usual
            assert answer.status_code == 200 and answer.json()["org_uuid"] == document.org_uuid
    finally:
        small.dispose()
