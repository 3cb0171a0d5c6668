"""The drop-folder scan: turn complete requests in ``incoming/`` into started templates.

find complete requests -> claim and process each (validate, template, upload, start) -> hand the
bulk assignments it started to the served ``bulk-assignment`` deployment (else run them here) ->
summary artifact (none when nothing was claimed: the run is tagged ``nothing-found`` instead, so a
day of 1,440 idle scans is easy to filter out). Safe to run every minute and from several places at
once: the inventory's request ledger lets exactly one scan claim a request.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State

from phonesys.failpoints import failpoint
from phonesys.flows.run_template import HandedOff, run_template
from phonesys.ops.handoff import wait_for_final_state
from phonesys.ops.prefect_env import NOTHING_FOUND, scan_run_name, untagged_tasks
from phonesys.ops.run_states import scan_state, tag_this_run
from phonesys.services.dropfolder import Outcome, scan_summary
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import open_engine
from phonesys.tasks.dropfolder import find_complete_requests, process_one


@flow(name="drop-folder-scan", flow_run_name=scan_run_name)
def drop_folder_scan(wait: bool = True) -> State:
    """One pass over the drop folder; ``wait``: follow the bulk runs handed to the deployment to their end."""
    with untagged_tasks():
        return scan_once(wait)


def scan_once(wait: bool) -> State:
    """The flow's body: claim and process each complete request, run what it started, sum up."""
    failpoint("scan-started")
    settings = load_settings()
    database_url, storage_url = settings.inventory_url, settings.objects_url
    requests = find_complete_requests(storage_url)
    outcomes = [process_one(database_url, storage_url, ref) for ref in requests]
    run_started(database_url, [o.template_uuid for o in outcomes if o.status == "started" and o.template_uuid],
                wait)
    summary = scan_summary(outcomes)
    if summary["claimed"]:
        create_markdown_artifact(_markdown(summary, outcomes), key="drop-folder-scan",
                                 description="Requests found, claimed and rejected")
    else:  # the every-minute case: no artifact, a tag to filter such runs out
        tag_this_run(NOTHING_FOUND)
    return scan_state(summary, {**summary, "requests": [o.as_dict() for o in outcomes]})


def run_started(database_url: str, template_uuids: list[str], wait: bool) -> None:
    """Each started template takes the one route ``template start`` takes (``run_template``): to the
    served ``bulk-assignment`` deployment (its limits and filters apply), else here, to its end. The
    hand-offs are all submitted before any is followed, so served runs go side by side; ``wait``
    follows them to their end. Each bulk run refreshes its request's status.json when it completes."""
    if not template_uuids:
        return
    engine = open_engine(database_url)
    ends = [run_template(engine, template_uuid, wait=False) for template_uuid in template_uuids]
    for handed in [end for end in ends if isinstance(end, HandedOff)] if wait else []:
        wait_for_final_state(handed.flow_run_id)


def _markdown(summary: dict[str, int], outcomes: list[Outcome]) -> str:
    lines = ["# Drop-folder scan", "", " | ".join(f"{k}: **{v}**" for k, v in summary.items()), "",
             "| org | request | status | template | status file |", "|---|---|---|---|---|"]
    lines += [f"| {o.org_uuid} | {o.request} | {o.status} | {o.template_uuid or '-'} | {o.status_key or '-'} |"
              for o in outcomes if o.status != "skipped"]
    return "\n".join(lines) + "\n"
