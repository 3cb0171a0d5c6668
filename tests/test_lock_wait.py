"""A command behind an organization another job holds gives up after ``PHONESYS_LOCK_TIMEOUT``.

A real second process takes the organization's lock the way every write does (``lock_org`` inside
``write_transaction``) and keeps it, like a frozen bulk chunk; the real ``phonesys`` command then
waits about the timeout, exits 75 (EX_TEMPFAIL) with ``org-busy`` naming the organization, and
changes nothing. A bulk chunk (no interactive bound) waits the holder out instead, on both backends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.jobs import pending_row_ids
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.views import show_extension
from tests.bulkfixtures import bulk_org, started_template

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PHONESYS = Path(sys.executable).with_name("phonesys")
TIMEOUT = 2.0

HOLDER = r"""
import sys, time
from phonesys.storage.inventory.engine import open_engine, write_transaction
from phonesys.storage.inventory.lookup import lock_org
engine = open_engine(sys.argv[1])
with write_transaction(engine) as connection:
    lock_org(connection, sys.argv[2])
    print("LOCKED", flush=True)
    time.sleep(float(sys.argv[3]))
"""


@contextmanager
def org_held(database_url: str, org_uuid: str, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process holding the organization's lock for ``seconds`` (killed on the way out)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database_url, org_uuid, str(seconds)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip() == "LOCKED", f"holder did not lock: {line!r} {holder.stderr.read()[-2000:]}"
        yield holder
    finally:
        holder.kill()
        holder.communicate()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_command_behind_a_held_organization_exits_75_within_the_timeout(engine, database_url, phonesys_env,
                                                                       as_json):
    org = bulk_org(engine, users=2, numbers=2)
    provision(engine, org.org_uuid, 1, "101")
    env = {**os.environ, **phonesys_env, "PHONESYS_LOCK_TIMEOUT": str(TIMEOUT)}
    args = [str(PHONESYS), "ext", "assign-user", org.org_uuid, "101", org.users[0].identity_uuid]
    with org_held(database_url, org.org_uuid, 60):
        started = time.monotonic()
        result = subprocess.run(args + (["--json"] if as_json else []), env=env, capture_output=True, text=True,
                                timeout=30)
        elapsed = time.monotonic() - started
    assert result.returncode == 75, (result.returncode, result.stdout, result.stderr)
    assert TIMEOUT <= elapsed < TIMEOUT + 15, elapsed
    message = f"another job holds organization {org.org_uuid}, try again"
    if as_json:
        document = json.loads(result.stdout)
        assert document["ok"] is False and [p["code"] for p in document["problems"]] == ["org-busy"]
        assert document["problems"][0]["message"].startswith(message)
    else:
        assert result.stdout == "" and f"error org-busy: {message}" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert show_extension(engine, org.org_uuid, "101")["user"] is None


def test_bulk_chunk_waits_the_holder_out(engine, database_url, phonesys_env, monkeypatch):
    """The interactive bound is not the chunks': they keep waiting (and are retried when transient)."""
    monkeypatch.setenv("PHONESYS_LOCK_TIMEOUT", "0.5")
    org = bulk_org(engine, users=4, numbers=4)
    template, _ = started_template(engine, org, 3)
    with org_held(database_url, org.org_uuid, 3) as holder:
        started = time.monotonic()
        outcome = assign_chunk(engine, template, pending_row_ids(engine, template))
        assert holder.wait(timeout=30) == 0
    assert outcome.assigned == 3 and time.monotonic() - started >= 2
