"""``phonesys template start`` and ``template report``: run a template and see what happened.

Exit status of ``start``: 0 every row assigned (or a dry run that would succeed), 1 refused,
3 finished with failed rows, 69 the Prefect API named by PREFECT_API_URL did not answer (before the
start: nothing changed; after it: resume once it answers), 70 the flow itself failed (rerun
``start --resume`` to finish it), 75 another job held the organization past
``PHONESYS_LOCK_TIMEOUT`` (nothing started; try again).
A start handed to a served deployment (``phonesys.ops.handoff``) without ``--wait`` exits 0 once the
run is accepted; with ``--wait`` it follows the run and keeps the same contract.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonesys.cli.common import JsonOption, attempt, console, err_console, inventory, print_json, run
from phonesys.cli.render import row_progress_bar
from phonesys.cli.template import TemplateArg, app
from phonesys.failpoints import failpoint
from phonesys.rules.limits import CHUNK_SIZE_MAX
from phonesys.rules.vocabulary import ALL_OR_NOTHING, CONTINUE, IN_PROGRESS

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from phonesys.flows.run_template import RunEnd
    from phonesys.services.template_runs import TemplateSummary
    from phonesys.storage.inventory.results import StartPlan

EXIT_ROWS_FAILED, EXIT_FLOW_FAILED = 3, 70


class Policy(str, Enum):
    continue_ = CONTINUE
    all_or_nothing = ALL_OR_NOTHING


@app.command("start")
def start(
    template: TemplateArg,
    wait: Annotated[bool, typer.Option("--wait", help="Show progress and the summary at the end.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the plan; change nothing.")] = False,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", min=1, max=CHUNK_SIZE_MAX, help="Rows per task (one transaction each). Default: sized by "
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
    its UI address and, with --wait, follows it until it ends or another run (--resume) finishes
    the template (same exit status as a local run). With PREFECT_API_URL set the server must answer
    first: if it does not, nothing changes and the exit status is 69.

    Example: phonesys template start 7c1d...9a --wait --policy all-or-nothing
    """
    from phonesys.cli.ops import with_prefect
    from phonesys.ops.prefect_api import check_configured_api
    from phonesys.services.template_runs import resumable
    from phonesys.storage.inventory.jobs import start_job

    engine = inventory()
    if not dry_run:  # before the holds: a server that does not answer would strand them
        with_prefect(as_json, check_configured_api)
    if not resume:
        plan = attempt(as_json, lambda: start_job(engine, template, policy=policy.value,
                                                  chunk_size=chunk_size, dry_run=dry_run))
        if dry_run:
            print_json({"ok": not plan.problems, **plan.as_dict()}) if as_json else _print_plan(plan)
            raise typer.Exit(1 if plan.problems else 0)
        template = plan.uuid
        failpoint("template-started")
    else:
        template = attempt(as_json, lambda: resumable(engine, template))
    _run_and_report(engine, template, chunk_size if resume else None, wait, as_json, foreground)


def _run_and_report(engine: Engine, template_uuid: str, chunk_size: int | None, wait: bool, as_json: bool,
                    foreground: bool = False) -> None:
    """Render a run: a progress bar while it runs (``--wait``, not ``--json``), then its outcome."""
    from phonesys.cli.ops import with_prefect
    from phonesys.flows.run_template import HandedOff, run_template

    def announce(handed: HandedOff) -> None:
        if not as_json:
            err_console.print(f"Handed off to deployment {handed.deployment}: flow run {handed.flow_run_name} "
                              f"({handed.flow_run_id}) {handed.url or ''}".rstrip())

    with row_progress_bar(enabled=wait and not as_json) as on_progress:
        end = with_prefect(as_json, lambda: run_template(engine, template_uuid, chunk_size, foreground=foreground,
                                                         wait=wait, on_progress=on_progress, on_handoff=announce))
    if isinstance(end, HandedOff):
        _print_submitted(template_uuid, end.as_dict(), as_json)
        return
    _finish(engine, template_uuid, end, as_json)


def _print_submitted(template_uuid: str, run: dict[str, Any], as_json: bool) -> None:
    """Without --wait a handed-off start ends here: the run is accepted, its outcome comes later."""
    if as_json:
        print_json({"ok": True, "uuid": template_uuid, "status": IN_PROGRESS, "handed_off": True, **run})
        return
    console.print(f"Started {template_uuid} as flow run {run['flow_run_name']} ({run['flow_run_id']}) "
                  f"of deployment {run['deployment']}")
    console.print(f"  follow it: {run['url'] or 'the Prefect UI'}, or `phonesys template report {template_uuid}`")


def _finish(engine: Engine, template_uuid: str, end: RunEnd, as_json: bool) -> None:
    """Print the outcome; exit 3 when rows failed (Partially completed, Rolled back), 70 when the
    run itself did not finish its rows (Failed, Crashed, never picked up) and nothing else did."""
    extra: dict[str, Any] = {"handed_off": True, **end.handed_off.as_dict()} if end.handed_off else {}
    if end.elsewhere:
        extra.update(completed_elsewhere=True, note="the template was completed by another run: see "
                     f"`phonesys template report {template_uuid}`")
    summary, message = _summary(engine, template_uuid), str(end.state.message or "")
    if as_json:
        print_json({"ok": end.decided, **summary.as_dict(), **extra, "flow_state": end.state.name,
                    "message": message})
    else:
        _print_summary(summary, f" (run {end.state.name}: {message})" if end.state.name else "")
    if end.elsewhere and not as_json:
        err_console.print(f"note: {extra['note']}", soft_wrap=True)
    if not end.decided:
        err_console.print(_flow_failed(template_uuid, end, summary.counts.pending), soft_wrap=True)
        raise typer.Exit(EXIT_FLOW_FAILED)
    if summary.counts.failed:
        raise typer.Exit(EXIT_ROWS_FAILED)


def _flow_failed(template_uuid: str, end: RunEnd, pending: int) -> str:
    """``error flow-failed: the run <id> crashed; 3 rows are pending: run `...--resume` (why)``."""
    from phonesys.ops.run_states import how_it_ended

    run_id = end.handed_off.flow_run_id if end.handed_off else end.state.state_details.flow_run_id
    return (f"error flow-failed: the run {run_id} {how_it_ended(end.state)}; {pending} rows are pending: run "
            f"`phonesys template start {template_uuid} --resume` ({end.state.name}: {end.state.message})")


@app.command("report")
def report(template: TemplateArg,
           output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the report CSV here.")] = None,
           as_json: JsonOption = False) -> None:
    """Summarise a started template: counts per status, failed rows, report and export files.

    Example: phonesys template report 7c1d...9a --output ./report.csv
    """
    run(as_json, lambda: _summary(inventory(), template, output, action="report"), _print_summary)


def _summary(engine: Engine, template_ref: str, output: Path | None = None,
             action: str = "show") -> TemplateSummary:
    from phonesys.services.template_runs import template_summary

    return template_summary(engine, template_ref, output, action)


def _print_summary(summary: TemplateSummary, run_state: str = "") -> None:
    """``run_state``: how the run that just ended ended, when there was one (`` (run Completed: ...)``)."""
    counts = summary.counts
    console.print(f"{summary.name} ({summary.uuid}): {summary.status}{run_state}")
    console.print(f"  assigned {counts.assigned}, failed {counts.failed}, pending {counts.pending}")
    for row in summary.failed_rows[:10]:
        console.print(f"  {row.file}:{row.row} ext {row.ext_key} {row.user_name}: {row.code}: {row.reason}")
    if counts.failed > 10:
        console.print(f"  ... {counts.failed - 10} more failed rows in the report")
    for label, location in (("report", summary.files.report), ("export", summary.files.export),
                            ("local copy", summary.files.local_copy)):
        if location:
            console.print(f"  {label}: {location}")


def _print_plan(plan: StartPlan) -> None:
    for problem in plan.problems:
        err_console.print(f"error {problem}", soft_wrap=True)
    console.print(f"Dry run of {len(plan.rows)} rows (policy {plan.policy}):")
    for name, pool in plan.pools.items():
        console.print(f"  {name}: available {pool.available_before} -> {pool.available_after}")
    ok = sum(r.ok for r in plan.rows)
    console.print(f"  {ok} row(s) can be assigned, {len(plan.rows) - ok} cannot")
