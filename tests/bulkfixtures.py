"""Building organizations and templates for the bulk-assignment tests, without CSV parsing.

``bulk_org`` loads an organization sized for a template; ``make_rows`` lays out N rows over its
users, keys and numbers; ``make_template`` creates the draft with ``create_template`` and puts the rows
in with ``accept_files`` (an Arrow table, as a validated upload would); ``start`` runs ``start_job``.
``inventory_state`` and ``ledger`` take the snapshots the tests compare, and ``read_report`` parses the
report CSV the flow writes. Rows are plain dicts: ``ext_key``, ``identity_uuid``, ``user_name``,
``number`` (None for no number).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select

from phonesys.rules.orgfile import OrgDocument
from phonesys.storage.inventory.engine import read_transaction, write_transaction
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.schema import extensions, organizations, template_rows, templates
from phonesys.storage.inventory.templates import AcceptedFile, accept_files, create_template
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import list_extensions
from tests.conftest import make_document

ROOT = Path(__file__).resolve().parent.parent
ADDONS = {"Call Recording": 1000, "Voicemail": 1000}


def bulk_org(engine: Engine, *, base: int = 1000, users: int = 120, numbers: int = 120,
             addons: dict[str, int] | None = None) -> OrgDocument:
    """A loaded organization with enough of everything for a template of ``users`` rows by default."""
    document = make_document(base=base, addons=dict(ADDONS if addons is None else addons), numbers=numbers,
                             users=users)
    load_org(engine, document)
    return document


def make_rows(org: OrgDocument, count: int, *, first_user: int = 0, first_key: int = 2000,
              first_number: int | None = 0) -> list[dict]:
    """``count`` rows: users and numbers of ``org`` in order from the given indexes, keys from
    ``first_key``; ``first_number=None`` gives rows without numbers."""
    return [{"ext_key": str(first_key + i), "identity_uuid": org.users[first_user + i].identity_uuid,
             "user_name": org.users[first_user + i].name,
             "number": None if first_number is None else org.numbers[first_number + i]}
            for i in range(count)]


def accepted_file(rows: list[dict], file_name: str = "users.csv") -> AcceptedFile:
    """An upload that passed validation: its canonical rows, numbered as a spreadsheet shows them."""
    table = pa.table({
        "row": pa.array(range(2, len(rows) + 2), pa.int64()),
        "ext_key": pa.array([r["ext_key"] for r in rows], pa.string()),
        "identity_uuid": pa.array([r["identity_uuid"] for r in rows], pa.string()),
        "user_name": pa.array([r["user_name"] for r in rows], pa.string()),
        "number": pa.array([r.get("number") for r in rows], pa.string()),
    })
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    return AcceptedFile(file_name, None, digest, "uuid", table)


def make_template(engine: Engine, org: OrgDocument, rows: list[dict], *, addons: tuple[str, ...] = (),
                  name: str = "Bulk test", files: int = 1) -> str:
    """A draft template holding ``rows`` (split over ``files`` uploads); returns its UUID."""
    template_uuid = create_template(engine, org.org_uuid, name, addons).uuid
    size = -(-len(rows) // files)
    parts = [rows[i:i + size] for i in range(0, len(rows), size)]
    accept_files(engine, template_uuid, [accepted_file(part, f"users-{n}.csv") for n, part in enumerate(parts)])
    return template_uuid


def start(engine: Engine, template_uuid: str, **options) -> dict:
    """``start_job`` with the test defaults (small chunks so a template has several)."""
    options.setdefault("chunk_size", 20)
    return start_job(engine, template_uuid, **options)


def started_template(engine: Engine, org: OrgDocument, count: int, *, addons: tuple[str, ...] = (),
                     **row_options) -> tuple[str, list[dict]]:
    """``make_rows`` + ``make_template`` + ``start`` in one go; returns the template and its rows."""
    rows = make_rows(org, count, **row_options)
    template_uuid = make_template(engine, org, rows, addons=addons)
    start(engine, template_uuid)
    return template_uuid, rows


# -- changing the inventory under a started template ------------------------------------------------
# A started template holds its rows' users, numbers and keys, so phonesys's own commands refuse to
# take them (tests/test_holds.py proves it). These helpers go around the holds, straight to the
# tables, the way a change made outside phonesys (or a template started before holds existed) would;
# they keep invariants 1 and 2, so the chunk's own re-check is what the tests then exercise.

def take_user(engine: Engine, org: OrgDocument, identity_uuid: str, ext_key: str) -> None:
    """Give the user a new extension ``ext_key`` (one base license), ignoring any hold."""
    _extension_out_of_band(engine, org.org_uuid, ext_key, identity_uuid=identity_uuid)


def take_number(engine: Engine, org: OrgDocument, number: str, ext_key: str) -> None:
    """Put ``number`` on a new extension ``ext_key`` (one base license), ignoring any hold."""
    _extension_out_of_band(engine, org.org_uuid, ext_key, number=number)


def take_key(engine: Engine, org: OrgDocument, ext_key: str) -> None:
    """Create the bare extension ``ext_key`` (one base license), ignoring any hold."""
    _extension_out_of_band(engine, org.org_uuid, ext_key)


def give_user(engine: Engine, org_uuid: str, ext_key: str, identity_uuid: str) -> None:
    """Put the user on the existing extension ``ext_key``, ignoring any hold."""
    with write_transaction(engine) as connection:
        connection.execute(extensions.update().where(extensions.c.org_uuid == org_uuid,
                                                     extensions.c.ext_key == ext_key)
                           .values(identity_uuid=identity_uuid))


def rekey_by_hand(engine: Engine, org_uuid: str, ext_key: str, new_key: str) -> None:
    """Change an extension's key the way ``ext edit --key`` does, ignoring any hold."""
    with write_transaction(engine) as connection:
        connection.execute(extensions.update().where(extensions.c.org_uuid == org_uuid,
                                                     extensions.c.ext_key == ext_key).values(ext_key=new_key))


def _extension_out_of_band(engine: Engine, org_uuid: str, ext_key: str, **values) -> None:
    with write_transaction(engine) as connection:
        connection.execute(organizations.update().where(organizations.c.org_uuid == org_uuid)
                           .values(base_used=organizations.c.base_used + 1))
        connection.execute(extensions.insert().values(org_uuid=org_uuid, ext_key=ext_key, **values))


# -- snapshots ---------------------------------------------------------------------------------------

def inventory_state(engine: Engine, org_uuid: str) -> dict:
    """Everything a bulk job may change in an organization, for before/after comparisons."""
    return {"usage": org_usage(engine, org_uuid).as_dict(), "extensions": list_extensions(engine, org_uuid),
            "extension_ids": extension_ids(engine, org_uuid)}


def holds_released(state: dict) -> dict:
    """``state`` as it is once its holds are given back: what an undone or finished job leaves."""
    usage = copy.deepcopy(state["usage"])
    for pool in [usage["base_licenses"], *usage["addons"].values(), usage["numbers"]]:
        pool["available"] += pool["held"]
        pool["held"] = 0
    usage["users"]["unassigned"] += usage["users"]["held"]
    usage["users"]["held"] = 0
    return {**state, "usage": usage}


def extension_ids(engine: Engine, org_uuid: str) -> set[int]:
    with read_transaction(engine) as connection:
        return set(connection.execute(select(extensions.c.id).where(extensions.c.org_uuid == org_uuid)).scalars())


def ledger(engine: Engine, template_uuid: str) -> dict[int, dict]:
    """row id -> status, reason code, extension id, processed_at, ext key, user, number."""
    with read_transaction(engine) as connection:
        rows = connection.execute(select(template_rows).where(template_rows.c.template_uuid == template_uuid)
                                  .order_by(template_rows.c.id)).all()
    return {r.id: {"status": r.status, "code": r.reason_code, "extension_id": r.extension_id,
                   "processed_at": r.processed_at, "ext_key": r.ext_key, "identity_uuid": r.identity_uuid,
                   "number": r.number, "row": r.row_number} for r in rows}


def decided(entries: dict[int, dict]) -> dict[int, dict]:
    return {row_id: entry for row_id, entry in entries.items() if entry["status"] != "pending"}


def template_status(engine: Engine, template_uuid: str) -> str:
    with read_transaction(engine) as connection:
        return connection.execute(select(templates.c.status).where(
            templates.c.template_uuid == template_uuid)).scalar_one()


def read_report(store, key: str) -> tuple[list[str], list[dict]]:
    """The report's header and rows (the store's bytes, decoded as the CSV writer wrote them)."""
    text = store.read_bytes(key).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    return header, [dict(zip(header, line)) for line in reader]


# -- watching and steering the flow from the test ----------------------------------------------------

class ChunkSpy:
    """Stands in for ``assign_chunk`` inside the flow's task (``phonesys.tasks.bulk.assign_chunk``): records
    every call and its outcome or exception; ``before(call_number, row_ids)`` may act or raise first."""

    def __init__(self, real, before=None):
        self.real, self.before = real, before
        self.calls: list[list[int]] = []
        self.outcomes: list = []
        self.errors: list[BaseException] = []

    def __call__(self, engine, template_uuid, row_ids):
        self.calls.append(list(row_ids))
        try:
            if self.before is not None:
                self.before(len(self.calls), list(row_ids))
            outcome = self.real(engine, template_uuid, row_ids)
        except BaseException as exc:
            self.errors.append(exc)
            raise
        self.outcomes.append(outcome)
        return outcome


@pytest.fixture
def chunk_spy(monkeypatch):
    """Install a ``ChunkSpy`` in the flow's chunk task: ``spy = chunk_spy(before=...)``."""
    import phonesys.tasks.bulk

    def install(before=None) -> ChunkSpy:
        spy = ChunkSpy(phonesys.tasks.bulk.assign_chunk, before)
        monkeypatch.setattr(phonesys.tasks.bulk, "assign_chunk", spy)
        return spy

    return install


@pytest.fixture
def fast_retries(monkeypatch):
    """The flow's tasks with their retry policy but no delay between attempts (tests only).

    ``phonesys.tasks.retry.RETRY_DELAYS`` is baked into each task when it is decorated; the flow looks its
    tasks up at call time on ``phonesys.tasks.bulk`` (``bulk.assign_rows``) or on its own module (tasks it
    imported by name), so replacing them there with ``with_options(retry_delay_seconds=0)`` is enough."""
    from prefect import Task

    import phonesys.flows.bulk_assignment
    import phonesys.tasks.bulk

    for module in (phonesys.tasks.bulk, phonesys.flows.bulk_assignment):
        for name, value in vars(module).copy().items():
            if isinstance(value, Task):
                assert value.retries > 0 and value.retry_condition_fn is not None, name
                monkeypatch.setattr(module, name, value.with_options(retry_delay_seconds=0))


@pytest.fixture
def prefect_api_url(prefect_server) -> str:
    """The session's Prefect test server, for flows run by subprocesses."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def read_artifacts(flow_run_id) -> dict:
    """The artifacts of one flow run, by key prefix (``bulk-progress`` ...): their type and data."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key.rsplit("-", 5)[0]: a for a in found if a.key}


# -- running the flow in another process --------------------------------------------------------------

FLOW_CHILD = r"""
import json, sys, time
from pathlib import Path

import phonesys.flows.bulk_assignment  # import everything before the go signal
import phonesys.tasks.bulk
from phonesys.flows.run_template import run_flow_in_foreground
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import open_engine

template_uuid, chunk_size, go, ready, wait_at, pause = sys.argv[1:7]
open_engine(load_settings().inventory_url)
chunks, real = [], phonesys.tasks.bulk.assign_chunk


def barrier():
    Path(ready).touch()
    deadline = time.monotonic() + 120
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal within 120 s")
        time.sleep(0.001)


def counted(engine, template, row_ids):
    if wait_at == "first-chunk" and not chunks:
        barrier()
    outcome = real(engine, template, row_ids)
    chunks.append([outcome.assigned, outcome.failed, outcome.already_done])
    time.sleep(float(pause))
    return outcome


phonesys.tasks.bulk.assign_chunk = counted
if wait_at == "start":
    barrier()
state = run_flow_in_foreground(template_uuid, None if chunk_size == "-" else int(chunk_size))
print("RESULT " + json.dumps({"state": state.type.value, "message": str(state.message), "chunks": chunks}))
"""


def child_env(phonesys_env: dict[str, str], prefect_api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a flow subprocess: the test's inventory and home, the shared Prefect server.

    The bulk-job concurrency limits are off (``PHONESYS_BULK_LIMITS=on`` in ``extra`` turns them
    on): races need two jobs of one org in their chunk phase at once, which the one-job-per-org
    limit forbids, and a SIGKILLed child would keep its slots on the shared server for a minute."""
    env = {k: v for k, v in os.environ.items() if k != "PHONESYS_FAILPOINT"}
    env.update(phonesys_env, PREFECT_API_URL=prefect_api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING", PYTHONPATH=str(ROOT), PHONESYS_BULK_LIMITS="off")
    env.update(extra)
    return env


def spawn_flow(template_uuid: str, env: dict[str, str], *, chunk_size: int | None = None,
               go: Path | None = None, wait_at: str = "start", pause: float = 0.0) -> subprocess.Popen:
    """``run_flow_in_foreground`` for the template in a new Python process (stdout, stderr piped).

    With ``go``, the child touches its ``process.ready`` file and waits for ``go`` to exist at
    ``wait_at``: ``start`` (everything imported, before the flow starts) or ``first-chunk`` (inside
    the flow, just before its first ``assign_chunk``: the barrier for races, since starting a flow
    run takes a variable second or two). ``pause``: seconds to sleep after each chunk, so that
    on SQLite (whose busy handler polls, it does not queue) a competing process gets the lock
    between two chunks instead of after the whole job. Its last stdout line is
    ``RESULT {"state", "message", "chunks": [[assigned, failed, already_done], ...]}``, one triple
    per ``assign_chunk`` that returned."""
    ready = go.with_name(f"{go.name}.ready-{uuid.uuid4().hex[:8]}") if go else None
    process = subprocess.Popen([sys.executable, "-c", FLOW_CHILD, template_uuid, str(chunk_size or "-"),
                                str(go or "-"), str(ready or "-"), wait_at if go else "-", str(pause)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.ready = ready
    return process


def wait_ready(processes: list[subprocess.Popen], timeout: float = 120) -> None:
    """Block until every child waiting on a go file has imported everything and said so."""
    deadline = time.monotonic() + timeout
    while not all(p.ready.exists() for p in processes):
        for p in processes:
            if p.poll() is not None:
                raise AssertionError(f"child exited {p.returncode} before the go signal: {p.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, "children not ready in time"
        time.sleep(0.02)


def result_of(process: subprocess.Popen, timeout: float = 120) -> dict:
    """Wait for a child to finish the flow; its RESULT document."""
    out, err = process.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and lines, f"child exit {process.returncode}:\n{out[-2000:]}\n{err[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])


class StderrWatch:
    """Collects a child's stderr lines in a thread; ``wait_for(text)`` blocks until one contains it."""

    def __init__(self, process: subprocess.Popen):
        self.process, self.lines, self._seen = process, [], threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self.lines.append(None)  # end of stream
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(line is not None and text in line for line in self.lines):
                left = deadline - time.monotonic()
                if None in self.lines or left <= 0:
                    raise AssertionError(f"child never printed {text!r} (exit {self.process.poll()}):\n"
                                         + "".join(line for line in self.lines if line)[-4000:])
                self._seen.wait(left)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL: no clean-up, no atexit, no rollback sent; the database must cope on its own."""
    process.kill()
    process.wait(timeout=30)


def kill_at_failpoint(template_uuid: str, env: dict[str, str], point: str) -> None:
    """Run the template's flow in a child until it freezes at failpoint ``point``, then SIGKILL it."""
    child = spawn_flow(template_uuid, {**env, "PHONESYS_FAILPOINT": point})
    watch = StderrWatch(child)
    try:
        watch.wait_for(f"FAILPOINT {point.partition(':')[0]}")
    finally:
        kill(child)
