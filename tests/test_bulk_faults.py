"""Transient faults injected into the inventory database and the object store while the flow runs.

``DatabaseFaults`` hooks the engine the flow uses in this process (``open_engine`` caches one per
URL) and, with a seeded random rate, makes statements of write transactions fail the way a busy or
flaky database does (SQLite ``database is locked``; PostgreSQL serialization failure), fails commits
before they happen, and (worse) after they happened, so the task sees an error for work that was in
fact committed. The flow must still finish with every row decided exactly once, through the tasks'
retries (delays shortened by ``fast_retries``), and a business failure must never be retried.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import contextmanager

import psycopg.errors
import pytest
from sqlalchemy import event

from phonesys.flows.run_template import run_flow_in_foreground
from phonesys.ops.run_states import ROLLED_BACK
from phonesys.rules.errors import Conflict, Problem, TransientError
from phonesys.storage.inventory.extensions import unassign_user
from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.objects import LocalObjectStore, open_object_store
from tests.bulkfixtures import (
    bulk_org,
    extension_ids,
    give_user,
    holds_released,
    inventory_state,
    ledger,
    make_rows,
    make_template,
    read_report,
    start,
    take_number,
    take_user,
    template_status,
)
from tests.invariants import assert_invariants, assert_ledger

READ_ONLY = "phonesys_read_only"  # the execution option storage.inventory.engine sets on reads


class DatabaseFaults:
    """Seeded transient faults in one engine's write transactions (reads are left alone).

    ``rate``: chance that a statement fails; ``commit_rate``: chance that a commit fails before it
    happens, and again that it fails *after* it happened (the acknowledgement is lost). At most
    ``max_in_a_row`` faults in a row, so a task (one write transaction per attempt) always gets
    through within its retries; the test is about recovering, not about running out of them.
    """

    def __init__(self, engine, *, seed: int, rate: float = 0.1, commit_rate: float = 0.1, max_in_a_row: int = 2):
        self.engine, self.rng = engine, random.Random(seed)
        self.rate, self.commit_rate, self.max_in_a_row = rate, commit_rate, max_in_a_row
        self.postgres = engine.dialect.name == "postgresql"
        self.injected: list[str] = []
        self.in_a_row = 0
        self.active = False
        self.lose_next_ack = False
        self._write_commit = True
        self._real_commit = engine.dialect.do_commit

    def install(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._committing)
        self.engine.dialect.do_commit = self._commit
        self.active = True

    def remove(self) -> None:
        if event.contains(self.engine, "before_cursor_execute", self._statement):
            event.remove(self.engine, "before_cursor_execute", self._statement)
            event.remove(self.engine, "commit", self._committing)
            del self.engine.dialect.do_commit
        self.active = False

    @contextmanager
    def paused(self):
        self.active = False
        try:
            yield
        finally:
            self.active = True

    def _error(self, after_commit: bool = False) -> Exception:
        if not self.postgres:
            return sqlite3.OperationalError("database is locked")
        if after_commit:
            return psycopg.errors.ConnectionFailure("server closed the connection unexpectedly")
        return psycopg.errors.SerializationFailure("could not serialize access due to concurrent update")

    def _roll(self, rate: float) -> bool:
        return self.active and self.in_a_row < self.max_in_a_row and self.rng.random() < rate

    def _inject(self, kind: str, after_commit: bool = False) -> Exception:
        self.in_a_row += 1
        self.injected.append(kind)
        return self._error(after_commit)

    def _statement(self, connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        if connection.get_execution_options().get(READ_ONLY) or statement.lstrip().upper().startswith("BEGIN"):
            return
        if self._roll(self.rate):
            raise self._inject(f"statement: {' '.join(statement.split())[:60]}")

    def _committing(self, connection) -> None:
        """SQLAlchemy's commit event, just before ``do_commit``: is it a write transaction's?"""
        self._write_commit = not connection.get_execution_options().get(READ_ONLY)

    def _commit(self, dbapi_connection) -> None:
        if not self._write_commit:
            return self._real_commit(dbapi_connection)
        if self._roll(self.commit_rate):
            raise self._inject("before commit")
        self._real_commit(dbapi_connection)
        if self.lose_next_ack and self.active:
            self.lose_next_ack = False
            raise self._inject("after commit (forced)", after_commit=True)
        if self._roll(self.commit_rate):
            raise self._inject("after commit", after_commit=True)
        self.in_a_row = 0


@pytest.fixture
def faults(engine):
    made = []

    def install(seed: int, **options) -> DatabaseFaults:
        injector = DatabaseFaults(engine, seed=seed, **options)
        injector.install()
        made.append(injector)
        return injector

    yield install
    for injector in made:
        injector.remove()


@pytest.fixture
def store(phonesys_env):
    return open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects")


def assert_chunks_exactly_once(spy, rows: int, chunk: int) -> None:
    """Every failed attempt was transient and retried; each chunk returned once, covering its rows."""
    assert spy.errors and all(isinstance(e, TransientError) for e in spy.errors), spy.errors
    assert len(spy.calls) == -(-rows // chunk) + len(spy.errors)
    assert len(spy.outcomes) == -(-rows // chunk)
    assert sum(o.assigned + o.failed + o.already_done for o in spy.outcomes) == rows


@pytest.mark.parametrize("seed", [11, 2024])
def test_flow_completes_correctly_through_database_faults(
        seed, prefect_server, engine, phonesys_env, fast_retries, chunk_spy, faults, store):
    org = bulk_org(engine)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=("Voicemail", "Call Recording"))
    start(engine, template)
    take_user(engine, org, rows[7]["identity_uuid"], "900")  # business failures, not faults
    take_number(engine, org, rows[64]["number"], "901")
    before = extension_ids(engine, org.org_uuid)
    injector = faults(seed, rate=0.1, commit_rate=0.1)

    def lose_an_ack(number: int, _row_ids) -> None:
        if number == 2:  # chunk 2 commits, then its task is told it failed: the retry must skip it
            injector.lose_next_ack = True

    spy = chunk_spy(lose_an_ack)
    state = run_flow_in_foreground(template)
    injector.remove()

    context = f"seed {seed}, faults injected: {injector.injected}"
    assert state.is_completed(), f"{state.message}; {context}"
    assert len(injector.injected) >= 5, context
    assert "after commit (forced)" in injector.injected, context
    assert_chunks_exactly_once(spy, 100, 20)
    assert any(o.already_done == 20 for o in spy.outcomes), "the chunk whose ack was lost was redone"
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before)
    entries = list(ledger(engine, template).values())
    assert {i: e["code"] for i, e in enumerate(entries) if e["status"] == "failed"} == {
        7: "user-assigned", 64: "number-assigned"}
    assert status_counts(engine, template) == {"pending": 0, "assigned": 98, "failed": 2}
    reports = list(store.list(f"reports/{org.org_uuid}/{template}/"))
    assert len(reports) == 1
    assert len(read_report(store, reports[0].key)[1]) == 100


def test_all_or_nothing_undo_survives_database_faults(
        prefect_server, engine, phonesys_env, fast_retries, chunk_spy, faults):
    org = bulk_org(engine)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    provision(engine, org.org_uuid, 1, "900")
    start(engine, template, policy="all-or-nothing")
    before = inventory_state(engine, org.org_uuid)
    injector = faults(7, rate=0.1, commit_rate=0.15)

    def competitor(number: int, _row_ids) -> None:
        if len(spy.outcomes) == 2 and not competitor.done:  # chunks 1-2 assigned: row 70's user goes
            with injector.paused():
                give_user(engine, org.org_uuid, "900", rows[70]["identity_uuid"])
            competitor.done = True

    competitor.done = False
    spy = chunk_spy(competitor)
    state = run_flow_in_foreground(template)
    injector.remove()

    assert state.name == ROLLED_BACK, f"{state.message}; faults: {injector.injected}"
    assert injector.injected, "no fault was injected"
    codes = [e["code"] for e in ledger(engine, template).values()]
    assert codes[70] == "user-assigned"
    assert set(codes[:70] + codes[71:80]) == {"rolled-back"} and set(codes[80:]) == {"not-attempted"}
    assert_ledger(engine, template, extensions_before=before["extension_ids"])
    unassign_user(engine, org.org_uuid, "900")
    assert inventory_state(engine, org.org_uuid) == holds_released(before)
    assert_invariants(engine)


@pytest.mark.parametrize("error, attempts, completes", [
    (TransientError("inventory database temporarily unavailable: database is locked"), 2, True),
    (Conflict(Problem("inventory-conflict", "The inventory changed while this request ran.")), 1, False),
    (RuntimeError("a bug"), 1, False),
])
def test_only_transient_errors_are_retried(error, attempts, completes, prefect_server, engine, phonesys_env,
                                           fast_retries, chunk_spy):
    org = bulk_org(engine)
    template = make_template(engine, org, make_rows(org, 40))
    start(engine, template)

    def fail_first_attempt_of_chunk_2(number: int, _row_ids) -> None:
        if number == 2:
            raise error

    spy = chunk_spy(fail_first_attempt_of_chunk_2)
    state = run_flow_in_foreground(template)

    assert state.is_completed() is completes, state.message
    assert len(spy.calls) == 1 + attempts  # chunk 1, then chunk 2 once or twice
    assert spy.calls[1] == spy.calls[-1]
    assert template_status(engine, template) == ("completed" if completes else "in_progress")
    assert_invariants(engine)
    assert_ledger(engine, template, completed=completes)


def test_a_template_never_started_is_refused_once_not_retried(prefect_server, engine, phonesys_env,
                                                              fast_retries, chunk_spy):
    org = bulk_org(engine)
    template = make_template(engine, org, make_rows(org, 30))
    before = inventory_state(engine, org.org_uuid)
    spy = chunk_spy()

    state = run_flow_in_foreground(template)

    assert state.is_failed()
    assert len(spy.calls) == 1 and [getattr(e, "problems", [None])[0].code for e in spy.errors] == [
        "template-not-in-progress"]
    assert template_status(engine, template) == "draft"
    assert inventory_state(engine, org.org_uuid) == before


def test_a_storage_fault_while_writing_the_report_is_retried(prefect_server, engine, phonesys_env,
                                                             fast_retries, store, monkeypatch):
    org = bulk_org(engine)
    template = make_template(engine, org, make_rows(org, 30))
    start(engine, template)
    uploads: list[str] = []
    real_upload = LocalObjectStore._upload

    def flaky_upload(self, key, local_path, content_type):
        uploads.append(key)
        if sum(k.startswith(("reports/", "exports/")) and k.split("/")[0] == key.split("/")[0]
               for k in uploads) == 1:
            raise TransientError(f"storage timeout writing {key}")  # the first report and first export
        return real_upload(self, key, local_path, content_type)

    monkeypatch.setattr(LocalObjectStore, "_upload", flaky_upload)
    state = run_flow_in_foreground(template)

    assert state.is_completed(), state.message
    assert [k.split("/")[0] for k in uploads] == ["reports", "reports", "exports", "exports"]
    reports = list(store.list(f"reports/{org.org_uuid}/{template}/"))
    assert [r.key for r in reports] == [uploads[1]]
    assert len(read_report(store, reports[0].key)[1]) == 30
    assert template_status(engine, template) == "completed"
    assert_ledger(engine, template)
