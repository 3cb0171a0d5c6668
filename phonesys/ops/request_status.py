"""A drop-folder request's ``status.json``, kept in step with the bulk run of its template.

The scan writes what it decided (``rejected``, ``draft`` or ``started``, ``phonesys.services.dropfolder``).
From then on the template's bulk run owns the file, wherever it runs (the scan's own process, a
served deployment, a worker, a later ``template start --resume``), found through the request ledger:

    started -> in_progress -> completed | partially-completed | rolled-back     (every row decided)
                           -> failed | crashed | cancelled      (rows left pending: resume the template)

A resumed run writes ``in_progress`` and its own end again, so the file always says the last run's
truth. Every document the run writes carries the ledger's ``counts``.
"""

from __future__ import annotations

import json
from typing import Any

from prefect.client.schemas.objects import State
from sqlalchemy import Engine

from phonesys.rules.vocabulary import Policy
from phonesys.services.bulk_job import JobOutcome
from phonesys.services.dropfolder import Outcome, status_document, write_status
from phonesys.storage.inventory.dropfolder import status_key_of_template
from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.template_views import template_detail

_DECIDED = {"completed": "completed", "partially-completed": "partially-completed", "failed": "rolled-back"}
STATUS_MAX_BYTES = 1024 * 1024


def decided_status(policy: Policy, outcome: JobOutcome) -> str:
    """How a run that decided every row ended; a ``failed`` verdict is all-or-nothing rolling back."""
    return _DECIDED[outcome.verdict(policy)]


def broken_status(state: State) -> str:
    """How a run that left rows pending ended, in the words of its Prefect state."""
    if state.is_crashed():
        return "crashed"
    if state.is_cancelled() or state.is_cancelling():
        return "cancelled"
    return "failed"


def publish(engine: Engine, store: Any, template_uuid: str, status: str, **extra: Any) -> str | None:
    """Rewrite status.json of the request ``template_uuid`` came from; None when it came from none."""
    key = status_key_of_template(engine, template_uuid)
    if key is None:
        return None
    previous = json.loads(store.read_bytes(key, max_bytes=STATUS_MAX_BYTES))
    detail = template_detail(engine, template_uuid, action="show")
    outcome = Outcome(previous["request"], previous["org_uuid"], status, template_uuid)
    write_status(store, key, status_document(outcome, counts=status_counts(engine, template_uuid),
                                             report_key=detail.report_key, export_key=detail.export_key,
                                             **extra))
    return str(key)
