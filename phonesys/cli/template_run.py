"""``phonesys template start`` and ``template report``: run a template and see what happened.

Exit status of ``start``: 0 every row assigned (or a dry run that would succeed), 1 refused,
3 finished with failed rows, 70 the flow itself failed (rerun ``start --resume`` to finish it).
A start handed to a served deployment (``phonesys.handoff``) without ``--wait`` exits 0 once the
run is accepted; with ``--wait`` it follows the run and keeps the same contract.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from phonesys.cli.common import JsonOption, attempt, console, err_console, inventory, print_json, run
from phonesys.cli.template import TemplateArg, app

EXIT_ROWS_FAILED, EXIT_FLOW_FAILED = 3, 70


class Policy(str, Enum):
    continue_ = "continue"
    all_or_nothing = "all-or-nothing"


@app.command("start")
def start(
    template: TemplateArg,
    wait: Annotated[bool, typer.Option("--wait", help="Show progress and the summary at the end.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the plan; change nothing.")] = False,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", min=1, max=5000, help="Rows per task (one transaction each). Default: sized by "
        "time, from 500 rows up to 5,000, about 2 seconds a task.")] = None,
    policy: Annotated[Policy, typer.Option("--policy", help="continue: assign what can be; all-or-nothing: "
                                           "any failed row leaves the inventory as before.")] = Policy.continue_,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an in-progress template whose run "
                                         "was interrupted.")] = False,
    foreground: Annotated[bool, typer.Option("--foreground", help="Run the flow in this process even when "
                                             "the bulk-assignment deployment is served.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Start the bulk assignment of a draft template.

    Checks first that there are enough base and add-on licenses, every user is unassigned and every
    number available; otherwise nothing changes and every shortfall is listed.

    When PREFECT_API_URL names a server where the bulk-assignment deployment is being served
    (`phonesys serve` or a worker), the run is handed to it: the command prints the flow run and
    its UI address and, with --wait, follows it to the end (same exit status as a local run).

    Example: phonesys template start 7c1d...9a --wait --policy all-or-nothing
    """
    from phonesys.storage.inventory.jobs import start_job

    engine = inventory()
    if not resume:
        plan = attempt(as_json, lambda: start_job(engine, template, policy=policy.value,
                                                  chunk_size=chunk_size, dry_run=dry_run))
        if dry_run:
            print_json({"ok": not plan["problems"], **plan}) if as_json else _print_plan(plan)
            raise typer.Exit(1 if plan["problems"] else 0)
        template = plan["uuid"]
    else:
        template = attempt(as_json, lambda: _resumable(engine, template))
    _run_and_report(engine, template, chunk_size if resume else None, wait, as_json, foreground)


def _resumable(engine, template_ref: str) -> str:
    """Only an in-progress template can be resumed; its flow run finishes the pending rows."""
    from phonesys.rules.errors import Problem, Refused
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action="report")
    if detail["status"] != "in_progress":
        raise Refused(Problem("template-not-in-progress", f"Template {detail['uuid']} is {detail['status']}; "
                              "only an in-progress template can be resumed.", "template", template_ref))
    return detail["uuid"]


def _run_and_report(engine, template_uuid: str, chunk_size: int | None, wait: bool, as_json: bool,
                    foreground: bool = False) -> None:
    from phonesys.handoff import served_deployment
    from phonesys.runner import run_flow_in_foreground

    deployment = None if foreground else served_deployment()
    if deployment is not None:
        _hand_off(engine, template_uuid, chunk_size, wait, as_json, deployment)
        return
    work = lambda: run_flow_in_foreground(template_uuid, chunk_size)
    state = _with_progress(engine, template_uuid, work) if wait and not as_json else work()
    _finish(engine, template_uuid, state, as_json)


def _with_progress(engine, template_uuid: str, work):
    """Run ``work`` under a progress bar fed by the ledger, whichever process assigns the rows."""
    from phonesys.runner import follow
    from phonesys.storage.inventory.jobs import status_counts

    total = sum(status_counts(engine, template_uuid).values())
    with Progress(TextColumn("assigning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as bar:
        task = bar.add_task("rows", total=total)
        return follow(engine, template_uuid, work, lambda c: bar.update(task, completed=c["assigned"] + c["failed"]))


def _hand_off(engine, template_uuid: str, chunk_size: int | None, wait: bool, as_json: bool, deployment) -> None:
    """Submit the run to the served deployment; with ``wait`` follow it to its final state."""
    from phonesys.handoff import BULK_DEPLOYMENT, run_url, submit, wait_for_final_state
    from phonesys.runner import run_tags
    from phonesys.storage.inventory.jobs import template_names
    from phonesys.storage.inventory.template_views import template_detail

    org_uuid = template_detail(engine, template_uuid, action="duplicate")["org_uuid"]
    flow_run = submit(deployment, template_uuid, chunk_size, run_name=" / ".join(template_names(engine, template_uuid)),
                      tags=run_tags(org_uuid))
    run = {"flow_run_id": str(flow_run.id), "flow_run_name": flow_run.name, "url": run_url(flow_run),
           "deployment": BULK_DEPLOYMENT}
    if not wait:
        _print_submitted(template_uuid, run, as_json)
        return
    if not as_json:
        err_console.print(f"Handed off to deployment {run['deployment']}: flow run {run['flow_run_name']} "
                          f"({run['flow_run_id']}) {run['url'] or ''}".rstrip())
    work = lambda: wait_for_final_state(flow_run.id)
    state = _with_progress(engine, template_uuid, work) if not as_json else work()
    _finish(engine, template_uuid, state, as_json, {"handed_off": True, **run})


def _print_submitted(template_uuid: str, run: dict, as_json: bool) -> None:
    """Without --wait a handed-off start ends here: the run is accepted, its outcome comes later."""
    if as_json:
        print_json({"ok": True, "uuid": template_uuid, "status": "in_progress", "handed_off": True, **run})
        return
    console.print(f"Started {template_uuid} as flow run {run['flow_run_name']} ({run['flow_run_id']}) "
                  f"of deployment {run['deployment']}")
    console.print(f"  follow it: {run['url'] or 'the Prefect UI'}, or `phonesys template report {template_uuid}`")


def _finish(engine, template_uuid: str, state, as_json: bool, extra: dict | None = None) -> None:
    """Print the outcome; exit 3 when rows failed (Partially completed, Rolled back), 70 when the
    run itself did not finish its rows (Failed, Crashed, never picked up)."""
    from phonesys.run_states import rows_decided

    decided = rows_decided(state)
    summary = {**_summary(engine, template_uuid), **(extra or {}), "flow_state": state.name,
               "message": str(state.message or "")}
    _print_summary(summary) if not as_json else print_json({"ok": decided, **summary})
    if not decided:
        err_console.print(f"error flow-failed: the run ended {state.name}: {state.message}; "
                          f"finish it with `phonesys template start {template_uuid} --resume`", soft_wrap=True)
        raise typer.Exit(EXIT_FLOW_FAILED)
    if summary["counts"]["failed"]:
        raise typer.Exit(EXIT_ROWS_FAILED)


@app.command("report")
def report(template: TemplateArg,
           output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Save the report CSV here.")] = None,
           as_json: JsonOption = False) -> None:
    """Summarise a started template: counts per status, failed rows, report and export files.

    Example: phonesys template report 7c1d...9a --output ./report.csv
    """
    run(as_json, lambda: _summary(inventory(), template, output, action="report"), _print_summary)


def _summary(engine, template_ref: str, output: Path | None = None, action: str = "show") -> dict:
    from phonesys.reports import report_location
    from phonesys.storage.inventory.jobs import failed_rows, status_counts
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action=action)
    files = report_location(engine, detail, output)
    return {"uuid": detail["uuid"], "name": detail["name"], "status": detail["status"],
            "counts": status_counts(engine, detail["uuid"]), "failed_rows": failed_rows(engine, detail["uuid"], 50),
            **files}


def _print_summary(summary: dict) -> None:
    counts = summary["counts"]
    state = f" (run {summary['flow_state']}: {summary['message']})" if summary.get("flow_state") else ""
    console.print(f"{summary['name']} ({summary['uuid']}): {summary['status']}{state}")
    console.print(f"  assigned {counts['assigned']}, failed {counts['failed']}, pending {counts['pending']}")
    for row in summary["failed_rows"][:10]:
        console.print(f"  {row['file']}:{row['row']} ext {row['ext_key']} {row['user_name']}: "
                      f"{row['code']}: {row['reason']}")
    if counts["failed"] > 10:
        console.print(f"  ... {counts['failed'] - 10} more failed rows in the report")
    for label in ("report", "export", "local_copy"):
        if summary.get(label):
            console.print(f"  {label.replace('_', ' ')}: {summary[label]}")


def _print_plan(plan: dict) -> None:
    for problem in plan["problems"]:
        where = ":".join(str(problem[k]) for k in ("file", "row") if problem.get(k) is not None)
        err_console.print(f"error {where + ': ' if where else ''}{problem['code']}: {problem['message']}",
                          soft_wrap=True)
    console.print(f"Dry run of {len(plan['rows'])} rows (policy {plan['policy']}):")
    for name, pool in plan["pools"].items():
        console.print(f"  {name}: available {pool['available_before']} -> {pool['available_after']}")
    ok = sum(r["ok"] for r in plan["rows"])
    console.print(f"  {ok} row(s) can be assigned, {len(plan['rows']) - ok} cannot")
