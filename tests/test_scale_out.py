"""Scale-out: many organizations' jobs at once on PostgreSQL and Prefect workers, and the limits
that keep them from swamping the database (``phonesys.ops.limits``).

The CI-sized benchmark runs ``benchmarks/scale_out.py`` as it runs in full: its own Prefect server,
a process work pool, two `prefect worker start` processes, two organizations of 1,000 rows each,
and every invariant checked afterwards. The limit tests run flow subprocesses against the session's
Prefect server. Nothing shared between organizations: opening the inventory at head takes no lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks.scale_out import format_rounds, run_scale_out
from phonesys.ops import limits
from phonesys.storage.inventory import engine as engine_module
from phonesys.storage.inventory.engine import dispose_engines, open_engine, read_transaction
from phonesys.storage.inventory.schema import template_rows
from tests.bulkfixtures import (
    bulk_org,
    child_env,
    make_rows,
    make_template,
    result_of,
    spawn_flow,
    start,
    wait_ready,
)
from tests.invariants import assert_invariants, assert_ledger

POSTGRES_ONLY = pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                        indirect=True)


@POSTGRES_ONLY
def test_two_orgs_on_two_workers_assign_every_row_once(database_url):
    rounds = run_scale_out(orgs=2, rows=1000, workers=(2,), postgres_url=database_url, echo=lambda _: None)
    (result,) = rounds
    assert result.states == ["COMPLETED", "COMPLETED"], format_rounds(rounds)
    assert result.violations == [] and result.rows == 2000 and len(result.walls) == 2
    assert 0 < max(result.walls) <= result.makespan and result.rows_per_second > 0
    assert_invariants(open_engine(database_url))


# -- the limits ----------------------------------------------------------------------------------------

def read_limit(name: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name)


def test_the_limits_are_created_with_the_configured_values(prefect_server):
    org = str(uuid.uuid4())
    limits.ensure_limits(org, 3)
    assert (read_limit(limits.GLOBAL_LIMIT).limit, read_limit(limits.org_limit(org)).limit) == (3, 1)
    limits.ensure_limits(org, 5)  # PHONESYS_BULK_JOBS changed: the next job sets the new value
    assert read_limit(limits.GLOBAL_LIMIT).limit == 5 and read_limit(limits.org_limit(org)).active


def test_the_limits_are_skipped_without_a_prefect_api(monkeypatch, caplog):
    monkeypatch.setattr(limits, "_skipped", [])
    entered = []
    with temporary_settings(restore_defaults={PREFECT_API_URL}), caplog.at_level(logging.INFO, "phonesys.ops.limits"):
        for _ in range(2):
            with limits.bulk_job_slots(str(uuid.uuid4())):
                entered.append(True)
    assert entered == [True, True]
    assert [r.getMessage() for r in caplog.records if r.name == "phonesys.ops.limits"] == [
        "Bulk job concurrency limits skipped: no PREFECT_API_URL (a temporary server's limits would bind "
        "this process only)"]


def test_the_limits_are_skipped_for_runs_on_the_homes_local_server(monkeypatch, caplog, tmp_path):
    """A run ``phonesys serve`` started against this home's local server (PREFECT_API_URL names the
    server its record names) takes no slots, like the home's foreground runs: the API URL below
    answers nothing, so asking it for a slot would fail."""
    import json

    import httpx

    from phonesys.ops.homeserver import server_dir

    monkeypatch.setattr(limits, "_skipped", [])
    home = tmp_path / "home"
    server_dir(home).mkdir(parents=True)
    (server_dir(home) / "server.json").write_text(json.dumps(
        {"pid": 1, "port": 9, "home": str(home), "started_at": "2026-12-08T00:00:00+00:00"}))
    monkeypatch.setenv("PHONESYS_HOME", str(home))
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}), \
            caplog.at_level(logging.INFO, "phonesys.ops.limits"):
        with limits.bulk_job_slots(str(uuid.uuid4())):
            pass
    assert [r.getMessage() for r in caplog.records if r.name == "phonesys.ops.limits"] == [
        "Bulk job concurrency limits skipped: this PHONESYS_HOME's local Prefect server (the limits are for "
        "workers sharing a server)"]
    monkeypatch.setattr(limits, "_skipped", [])
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:10/api"}), pytest.raises(httpx.ConnectError):
        with limits.bulk_job_slots(str(uuid.uuid4())):  # another server: the limits apply, and it does not answer
            pass


def chunk_phase(engine, template_uuid: str) -> tuple:
    """When the template's first and last rows were decided: its chunk phase, as the ledger saw it."""
    with read_transaction(engine) as connection:
        return connection.execute(select(func.min(template_rows.c.processed_at), func.max(template_rows.c.processed_at))
                                  .where(template_rows.c.template_uuid == template_uuid)).one()


@pytest.mark.parametrize("orgs, settings, barrier, overlap", [
    pytest.param(1, {}, "start", False, id="one-org"),
    pytest.param(2, {"PHONESYS_BULK_JOBS": "1"}, "start", False, id="two-orgs-one-global-slot"),
    pytest.param(1, {"PHONESYS_BULK_LIMITS": "off"}, "first-chunk", True, id="limits-off"),
])
def test_jobs_take_turns_when_the_limits_say_so(orgs, settings, barrier, overlap, engine, phonesys_env,
                                                prefect_api_url, tmp_path):
    """Two jobs let go at once: with the limits on, the second one's chunk phase starts after the
    first one's ended, whether they share the organization or the global limit has one slot. Off
    (the control, which proves the measure can fail): both are in their chunk phase at once (let go
    at their first chunk; with a limit on, that barrier would be inside it and never meet)."""
    owners = [bulk_org(engine, users=120, numbers=120) for _ in range(orgs)]
    templates = []
    for i in range(2):
        org = owners[i % orgs]
        rows = make_rows(org, 60, first_user=60 * i, first_key=2000 + 100 * i, first_number=60 * i)
        templates.append(make_template(engine, org, rows, name=f"Turn {i}"))
        start(engine, templates[-1], chunk_size=10)
    env = child_env(phonesys_env, prefect_api_url, **{"PHONESYS_BULK_LIMITS": "on", **settings})
    go = tmp_path / "go"
    children = [spawn_flow(t, env, go=go, wait_at=barrier, pause=0.3) for t in templates]
    wait_ready(children)
    go.touch()
    assert [result_of(child)["state"] for child in children] == ["COMPLETED", "COMPLETED"]
    (first_start, first_end), (second_start, second_end) = sorted(chunk_phase(engine, t) for t in templates)
    assert (second_start < first_end) is overlap, ((first_start, first_end), (second_start, second_end))
    assert_invariants(engine)
    assert_ledger(engine, *templates)


# -- nothing shared between organizations ------------------------------------------------------------------

def test_opening_the_inventory_at_head_takes_no_lock(database_url):
    """A worker opens the inventory in every flow run's process: at head, that must not queue behind
    the migration lock (PostgreSQL's advisory lock, SQLite's write lock) that other jobs may hold."""
    open_engine(database_url)
    dispose_engines()
    with held_migration_lock(database_url):
        opened = threading.Thread(target=open_engine, args=(database_url,), daemon=True)
        opened.start()
        opened.join(timeout=20)
        assert not opened.is_alive(), "open_engine waited for the migration lock although the schema is at head"


class held_migration_lock:
    """Hold, from another connection, the lock ``upgrade`` takes to migrate."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        if make_url(self.url).get_backend_name() == "sqlite":
            self.connection = sqlite3.connect(make_url(self.url).database, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(self.url)
            self.connection = self.engine.connect()
            self.connection.execute(text("SELECT pg_advisory_lock(:key)"),
                                    {"key": engine_module._MIGRATION_LOCK_KEY})
        return self

    def __exit__(self, *_):
        if isinstance(self.connection, sqlite3.Connection):
            self.connection.execute("ROLLBACK")
            self.connection.close()
        else:
            self.connection.execute(text("SELECT pg_advisory_unlock_all()"))
            self.connection.close()
            self.engine.dispose()


def test_a_job_that_waits_for_its_slots_says_so_at_warning(prefect_server, caplog):
    """Workers run at WARNING, so a queued job's wait must be visible there (not only at INFO)."""
    from prefect.concurrency.sync import concurrency

    org = str(uuid.uuid4())
    limits.ensure_limits(org, 4)
    holding, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with concurrency(limits.org_limit(org), strict=True):
            holding.set()
            release.wait(30)

    other = threading.Thread(target=other_job, daemon=True)
    other.start()
    assert holding.wait(30)
    threading.Timer(2.0, release.set).start()
    with caplog.at_level(logging.WARNING, "phonesys.ops.limits"), limits.bulk_job_slots(org):
        pass
    other.join(30)
    (line,) = [r for r in caplog.records if r.name == "phonesys.ops.limits"]
    assert line.levelno == logging.WARNING and "held after waiting" in line.getMessage()
    assert float(line.getMessage().split("waiting ")[1].split(" s")[0]) >= 1.5
