"""Stop the Prefect runs of a cancelled template, so the UI shows them ended, not Late or Running.

``template cancel`` ends the template in the inventory first (its pending rows fail as
``template-cancelled`` under the organization lock), so whatever a run does afterwards changes
nothing. What is left is the run itself:

- a run not started yet (Scheduled, Late, Pending, waiting for a slot or paused) is set Cancelled;
- a running run of a deployment is set Cancelling: the runner or worker executing it ends its
  process and marks it Cancelled;
- a run executing inside another command (``template start --foreground``, or a run with no served
  deployment) cannot be stopped from here: Prefect stops only runs whose process a runner owns.
  It finds nothing left to do and ends by itself; it is listed as ``left``.

The runs are looked for on ``PREFECT_API_URL`` or, without it, on this home's local server when it
is running (a server is never started just to cancel). A server that does not answer leaves the
runs as they are, with a note: the inventory is already right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from sqlalchemy import Engine

    from phonesys.services.template_cancel import CancelOutcome
    from phonesys.storage.objects import ObjectStore

BULK_FLOW = "bulk-assignment"
RUNS_LOOKED_AT = 200  # a template has one live run, a few after resumes; this bounds a pathological case


@dataclass(frozen=True)
class RunsStopped:
    """Which runs were stopped (``cancelled``: set Cancelled or Cancelling) and which could not be."""

    cancelled: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"runs_cancelled": self.cancelled, "runs_left": self.left, "runs_note": self.note}


def reachable_api() -> str | None:
    """PREFECT_API_URL, else this home's local server while it runs; None when neither."""
    from phonesys.ops.homeserver import running
    from phonesys.ops.prefect_api import configured_api_url
    from phonesys.settings import load_settings

    configured = configured_api_url()
    if configured:
        return configured
    record = running(load_settings().home.resolve())
    return record.api_url if record is not None else None


def stop_template_runs(template_uuid: str, org_uuid: str, actor: str) -> RunsStopped:
    """Stop every live bulk-assignment run of the template (see the module docstring)."""
    url = reachable_api()
    if url is None:
        return RunsStopped()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with temporary_settings({PREFECT_API_URL: url}):
            return _stop(template_uuid, org_uuid, f"template cancelled by {actor}")
    except Exception as exc:  # noqa: BLE001 - the cancel itself is done; say why the runs were not stopped
        return RunsStopped(note=f"the Prefect API at {url} did not answer ({type(exc).__name__}); "
                           "a run still going finds nothing left to do")


def _stop(template_uuid: str, org_uuid: str, message: str) -> RunsStopped:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Cancelling

    stopped = RunsStopped()
    with get_client(sync_client=True) as client:
        for run in _live_runs(client, org_uuid):
            if not _runs_template(run, template_uuid) or run.state is None:
                continue
            if not run.state.is_running():
                client.set_flow_run_state(run.id, Cancelled(message=message), force=True)
            elif run.deployment_id is not None:
                client.set_flow_run_state(run.id, Cancelling(message=message), force=True)
            else:
                stopped.left.append(str(run.id))
                continue
            stopped.cancelled.append(str(run.id))
    return stopped


def _live_runs(client: Any, org_uuid: str) -> list[FlowRun]:
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    live = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]
    runs: list[FlowRun] = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[BULK_FLOW])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=live)),
                                      tags=FlowRunFilterTags(all_=[f"org:{org_uuid}"])),
        limit=RUNS_LOOKED_AT)
    return runs


def _runs_template(run: FlowRun, template_uuid: str) -> bool:
    """The bulk flow takes one ``parameters`` model holding the template's UUID."""
    parameters = run.parameters.get("parameters")
    return isinstance(parameters, dict) and str(parameters.get("template_uuid")) == template_uuid


@dataclass(frozen=True)
class CancelDone:
    """A cancelled template (``template cancel``): what the inventory did, then what Prefect did."""

    outcome: CancelOutcome
    runs: RunsStopped

    def as_dict(self) -> dict[str, Any]:
        return {**self.outcome.as_dict(), **self.runs.as_dict()}


def cancel_and_stop(engine: Engine, store: ObjectStore, template_ref: str) -> CancelDone:
    """The one way to cancel: the inventory first (nothing a run does afterwards changes anything),
    then the template's live runs, acting as the engine's actor."""
    from phonesys.services.template_cancel import cancel_template
    from phonesys.storage.inventory.audit import actor_of

    outcome = cancel_template(engine, store, template_ref)
    done = outcome.cancelled
    return CancelDone(outcome, stop_template_runs(done.template_uuid, done.org_uuid, actor_of(engine)))
