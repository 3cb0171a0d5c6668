"""Final states of phonesys flow runs that tell the truth in the Prefect UI, its filters and its events.

A flow returns one of these states instead of a bare value, so the run list shows at a glance what
happened, and Prefect's own ``prefect.flow-run.<state name>`` events say it too:

| run | state (type) | when |
|---|---|---|
| bulk-assignment | ``Completed`` (COMPLETED) | every row assigned |
| bulk-assignment | ``Partially completed`` (COMPLETED) | policy ``continue``, some rows failed |
| bulk-assignment | ``Rolled back`` (FAILED) | policy ``all-or-nothing``, a row failed: nothing changed |
| bulk-assignment | ``Failed`` / ``Crashed`` | the run itself broke: resume it |
| drop-folder-scan | ``Completed`` (COMPLETED) | its message counts what was found, started and rejected |
| drop-folder-scan | ``Completed``, tag ``nothing-found`` | no request to claim: no artifact either |

The data of each state is the flow's result dict, so ``state.result()`` (``raise_on_failure=False``
for ``Rolled back``) still gives callers the counts, report and export. A ``Rolled back`` state holds
it as a ``RolledBack`` exception that reads like that dict: Prefect resolves a Failed run's data into
the exception the run raises (a deployment's process raises it at the end), and a plain dict there
is its own ``TypeError`` with a traceback in the run's logs. A planned outcome is no error, so
``quiet_planned_outcomes`` keeps the engine's last "unexpected exception" line out of the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from phonesys.ops.prefect_env import NOTHING_FOUND_MESSAGE
from phonesys.rules.vocabulary import Policy
from phonesys.services.bulk_job import JobOutcome

PARTIAL = "Partially completed"
ROLLED_BACK = "Rolled back"
CAUSES_HIDDEN = {"rolled-back", "not-attempted", "changed-since"}  # consequences of the real causes, not causes


def bulk_state(policy: Policy, outcome: JobOutcome) -> State:
    """The final state of a bulk run whose rows are all decided; its data is ``outcome.as_dict()``."""
    counts, result, verdict = outcome.counts, outcome.as_dict(), outcome.verdict(policy)
    if verdict == "completed":
        return Completed(message=f"{counts.assigned} of {counts.rows} rows assigned", data=result)
    causes = codes_text(outcome.codes)
    if verdict == "failed":
        return Failed(name=ROLLED_BACK, data=result,
                      message=f"all-or-nothing: rows failed ({causes}); {rollback_text(outcome)}")
    return Completed(name=PARTIAL, data=result,
                     message=f"{counts.assigned} of {counts.rows} rows assigned, {counts.failed} failed ({causes})")


def rollback_text(outcome: JobOutcome) -> str:
    """What the undo really did: rows it rolled back, rows it never tried, and any it had to keep
    because their extension was changed by hand meanwhile (then something did change)."""
    codes = outcome.codes
    done = f"{codes.get('rolled-back', 0)} rolled back, {codes.get('not-attempted', 0)} not attempted"
    kept = codes.get("changed-since", 0)
    return f"{done}; {kept} kept: their extension changed since" if kept else f"{done}, nothing changed"


class RolledBack(Exception, Mapping[str, Any]):
    """The data of a ``Rolled back`` state: an exception for Prefect, the run's result dict for readers."""

    __hash__ = Exception.__hash__  # Mapping's __eq__ would make it unhashable, and tracebacks hash

    def __init__(self, message: str, result: dict[str, Any]):
        super().__init__(message, result)
        self.message, self.result = message, result

    def __str__(self) -> str:
        return self.message

    def __eq__(self, other: object) -> bool:
        return self is other

    def __getitem__(self, key: str) -> Any:
        return self.result[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.result)

    def __len__(self) -> int:
        return len(self.result)


def planned(state: State) -> State:
    """``state`` with a ``Rolled back`` run's result dict wrapped in ``RolledBack`` (others unchanged)."""
    if state.is_failed() and state.name == ROLLED_BACK and isinstance(state.data, dict):
        state.data = RolledBack(str(state.message or ROLLED_BACK), state.data)
    return state


class _PlannedOutcomes(logging.Filter):
    """Drops a log record about a ``RolledBack``: the run ended as planned, its state says how."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], RolledBack))


def quiet_planned_outcomes() -> None:
    """Keep Prefect's "Engine execution exited with unexpected exception" off a Rolled back run: a
    deployment's flow process raises the final state's exception after the run ended and logs it to
    ``prefect.flow_runs``, the run's own logger (idempotent; called by the flow)."""
    runs = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, _PlannedOutcomes) for f in runs.filters):
        runs.addFilter(_PlannedOutcomes())


def codes_text(codes: dict[str, int]) -> str:
    """``user-assigned x2, number-assigned x1``: the causes, most frequent first."""
    causes = {code: n for code, n in codes.items() if code not in CAUSES_HIDDEN} or codes
    return ", ".join(f"{code} x{n}" for code, n in sorted(causes.items(), key=lambda c: (-c[1], c[0]))) or "no code"


def rows_decided(state: State) -> bool:
    """True when every row got its outcome: Completed, Partially completed or Rolled back.

    Anything else (Failed, Crashed, Cancelled, a run never picked up) left rows pending."""
    return state.is_completed() or (state.is_failed() and state.name == ROLLED_BACK)


def how_it_ended(state: State) -> str:
    """What became of a run that left rows pending, for a sentence: ``crashed``, ``was cancelled``."""
    if state.is_scheduled() or state.is_pending():
        return f"was never picked up ({state.name})"
    if state.is_running():
        return "is still running (its process may be gone)"
    return {"CRASHED": "crashed", "FAILED": "failed", "CANCELLED": "was cancelled"}.get(state.type.value,
                                                                                     f"ended {state.name}")


def scan_state(summary: dict[str, int], result: dict[str, Any]) -> State:
    """The final state of a drop-folder scan; its message names rejected requests first."""
    if not summary["claimed"]:
        return Completed(message=NOTHING_FOUND_MESSAGE, data=result)
    rejected = [f"{o['org_uuid']}/{o['request']}" for o in result["requests"] if o["status"] == "rejected"]
    counts = f"{summary['claimed']} request(s) claimed, {summary['started']} started"
    if rejected:
        return Completed(message=f"{len(rejected)} request(s) rejected ({', '.join(rejected)}); {counts}", data=result)
    return Completed(message=counts, data=result)


def tag_this_run(*tags: str) -> None:
    """Add ``tags`` to the running flow run through the API: the decorator's tags are fixed when the
    run starts, and whether a scan found anything is known only at its end."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(context.flow_run.id)
        client.update_flow_run(run.id, tags=sorted(set(run.tags) | set(tags)))
