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
for ``Rolled back``) still gives callers the counts, report and export.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from phonesys.jobs.bulk_job import JobOutcome, Policy

NOTHING_FOUND = "nothing-found"  # tag of a scan run that claimed no request: filter it out of the runs list
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


def codes_text(codes: dict[str, int]) -> str:
    """``user-assigned x2, number-assigned x1``: the causes, most frequent first."""
    causes = {code: n for code, n in codes.items() if code not in CAUSES_HIDDEN} or codes
    return ", ".join(f"{code} x{n}" for code, n in sorted(causes.items(), key=lambda c: (-c[1], c[0]))) or "no code"


def rows_decided(state: State) -> bool:
    """True when every row got its outcome: Completed, Partially completed or Rolled back.

    Anything else (Failed, Crashed, Cancelled, a run never picked up) left rows pending."""
    return state.is_completed() or (state.is_failed() and state.name == ROLLED_BACK)


def scan_state(summary: dict[str, int], result: dict[str, Any]) -> State:
    """The final state of a drop-folder scan; its message names rejected requests first."""
    if not summary["claimed"]:
        return Completed(message="nothing found", data=result)
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
