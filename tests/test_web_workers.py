"""``phonesys web --workers N``: N processes answer on one port, each with the token-redacting log
filter, and Ctrl-C stops them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_document
from tests.webserver import bearer, token, wait_children_gone, web_process

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_two_workers_answer_and_stop_together(engine, database_url, cli, tmp_path):
    from phonesys.storage.inventory.orgs import load_org

    document = make_document()
    load_org(engine, document)
    secret = token(cli, document.org_uuid, "--name", "workers", "--role", "viewer")
    with web_process(database_url, tmp_path / "home", "--workers", "2") as (client, log, process):
        workers = children(process.pid)
        assert len(workers) >= 2, workers  # uvicorn's supervisor may add a helper process of its own
        for _ in range(20):  # spread over the workers by the kernel; every one must answer alike
            answer = client.get(f"/api/v1/orgs/{document.org_uuid}/licenses", headers=bearer(secret))
            assert answer.status_code == 200 and answer.json()["org_uuid"] == document.org_uuid
        assert client.get(f"/api/v1/orgs/{document.org_uuid}/licenses?t={secret}").status_code == 401
    wait_children_gone(workers)
    text = log.read_text(errors="replace")
    assert "GET /api/v1/orgs/" in text and secret not in text and "Traceback" not in text, text
