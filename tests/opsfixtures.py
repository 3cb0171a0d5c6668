"""Helpers for the ops tests (serve, hand-off, notify, UI): a small started template, a ``phonesys
serve`` child process, and waiting on the Prefect API.

``started_template`` builds what ``template start`` needs without CSV parsing: an organization from
``make_document``, a draft template whose rows come in through ``accept_files`` (as a validated
upload would), started with ``start_job``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from sqlalchemy import Engine

from phonesys.rules.orgfile import OrgDocument
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.templates import AcceptedFile, accept_files, create_template
from tests.conftest import make_document

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS = ("drop-folder-scan/drop-folder-scan", "bulk-assignment/bulk-assignment",
               "template-revert/template-revert", "export-files/export-extensions-nightly",
               "export-files/export-numbers-nightly")
T = TypeVar("T")


def started_template(engine: Engine, rows: int = 5, *, name: str = "Ops check", start: bool = True,
                     taken: int = 0) -> tuple[OrgDocument, str]:
    """An org and a template of ``rows`` rows (keys 301...), started unless ``start`` is False; the
    first ``taken`` rows name numbers another extension holds by the time the flow runs, so they fail."""
    org = make_document(base=rows + taken + 2, users=rows + taken, numbers=rows + taken,
                        addons={"Call Recording": rows + taken})
    load_org(engine, org)
    table = pa.table({"row": pa.array(range(2, rows + 2), pa.int64()),
                      "ext_key": [str(301 + i) for i in range(rows)],
                      "identity_uuid": [u.identity_uuid for u in org.users[:rows]],
                      "user_name": [u.name for u in org.users[:rows]],
                      "number": [org.numbers[i] for i in range(rows)]})
    template_uuid = create_template(engine, org.org_uuid, name, ["Call Recording"]).uuid
    accept_files(engine, template_uuid, [AcceptedFile("users.csv", None, hashlib.sha256(name.encode()).hexdigest(),
                                                      "uuid", table)])
    if not start:
        return org, template_uuid
    start_job(engine, template_uuid, chunk_size=2)
    if taken:
        _take_numbers(engine, org, taken)
    return org, template_uuid


def _take_numbers(engine: Engine, org: OrgDocument, count: int) -> None:
    """Out of band (the template holds them, so phonesys itself would refuse): the first rows fail."""
    from tests.bulkfixtures import take_number

    for i in range(count):
        take_number(engine, org, org.numbers[i], str(901 + i))


def wait_until(probe: Callable[[], T], timeout: float = 60, interval: float = 0.5, what: str = "it") -> T:
    """Call ``probe`` until it returns something truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(interval)


def serve_env(phonesys_env: dict[str, str], api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``phonesys serve`` child: the test's inventory, the given Prefect API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONESYS_FAILPOINT")}
    env.update(phonesys_env, PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_LOGGING_LEVEL="WARNING", PREFECT_RUNNER_POLL_FREQUENCY="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def start_serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``phonesys serve`` in a child process, output to ``log`` (read it when something fails).

    The child must get ``stop_serve``'s Ctrl-C. A test run started in the background (``pytest &``
    in a script, some CI runners) has SIGINT ignored, and a child inherits an ignored signal: it
    would shrug off the Ctrl-C, be killed after 90 s and never pause its deployments. A Python
    handler, unlike SIG_IGN, is reset to the default in the child (as in localserver.main)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with log.open("wb") as output:
            return subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", "serve"],
                                    cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_serve(process: subprocess.Popen) -> None:
    """Ctrl-C, as an operator would: the runner pauses its schedules and exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)  # a loaded machine can take a while to shut a runner down
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def delete_deployments(names: tuple[str, ...] = DEPLOYMENTS) -> None:
    """Remove the deployments (and their automations), so no later test hands a run to them."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for name in names:
            try:
                deployment = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment.id}")
            client.delete_deployment(deployment.id)


def read_events(name: str, resource_id: str) -> list:
    """The events ``name`` about ``resource_id`` the Prefect server has stored so far (oldest first)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOrder, EventResourceFilter

    query = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[resource_id]),
                        order=EventOrder.ASC)
    with get_client(sync_client=True) as client:
        return client.read_events(query, limit=50).events


def drop_request(phonesys_env: dict[str, str], org_uuid: str, name: str, csv: str, manifest: dict):
    """A request in the local drop folder under PHONESYS_HOME (one CSV, request.json last); the store."""
    import json

    from phonesys.storage.objects import open_object_store

    store = open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects")
    prefix = f"incoming/{org_uuid}/{name}/"
    store.write_bytes(prefix + "a.csv", csv.encode())
    store.write_bytes(prefix + "request.json", json.dumps(manifest).encode())
    return store


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first, from /proc (a flow run may sit in a session of
    its own, so process groups would miss it)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found
