"""Fixtures and helpers of the HTTP API tests: ``phonesys web`` in a child process on a loopback port,
over the test's SQLite file or PostgreSQL schema, called with httpx; tokens come from the CLI.

One server per backend serves a whole test module (starting one is most of the cost); each test
loads its own organizations, so tests do not see each other's data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from phonesys.ops.localserver import free_port
from phonesys.storage.inventory.engine import dispose_engines
from tests.conftest import _postgres_schema_url

ROOT = Path(__file__).resolve().parent.parent
MISSING_ORG = "00000000-0000-4000-8000-000000000000"
SECRETS: list[str] = []  # every token the module made; none may appear in the server's log


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """conftest's database, once per module: the server and the tests share it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'inventory.sqlite3'}"
        dispose_engines()
    else:
        yield from _postgres_schema_url()


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory) -> Iterator[tuple[httpx.Client, Path]]:
    """A client of ``phonesys web`` on a free port, and the file its output goes to."""
    with web_process(database_url, tmp_path_factory.mktemp("web-home")) as (client, log, _process):
        yield client, log


@contextmanager
def web_process(database_url: str, home: Path, *options: str) -> Iterator[tuple[httpx.Client, Path, subprocess.Popen]]:
    """``phonesys web [options]`` until the block ends (then Ctrl-C, as a person stops it)."""
    port, log = free_port(), home / "web.log"
    env = {**os.environ, "PHONESYS_HOME": str(home), "PHONESYS_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", "web",
                                    "--port", str(port), *options], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        _wait_ready(client, process, log)
        yield client, log, process
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(client: httpx.Client, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"phonesys web exited ({process.returncode}):\n{log.read_text()}")
        try:
            if client.get("/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"phonesys web did not answer within 90 s:\n{log.read_text()}")


@pytest.fixture
def api(server) -> httpx.Client:
    return server[0]


def token(cli, *args: str) -> str:
    result = cli("token", "create", *args, "--json")
    assert result.exit_code == 0, result.output
    secret = json.loads(result.stdout)["token"]
    SECRETS.append(secret)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def cli_json(cli, *args: str) -> dict:
    return json.loads(cli(*args, "--json").stdout)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "code", "problems"} <= set(body)
    assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:phonesys:problem:{code}")
    return body




def wait_children_gone(pids: list[int], timeout: float = 30) -> None:
    """Every one of ``pids`` has exited (a worker left behind would hold the port)."""
    deadline = time.monotonic() + timeout
    while [pid for pid in pids if Path(f"/proc/{pid}").exists()]:
        assert time.monotonic() < deadline, f"still running: {pids}"
        time.sleep(0.2)
