"""``phonesys template revert`` and ``template cancel``: undo what a completed template made, except
what changed since; end one in progress where it stands.

Exit status: 0 the revert ran (or the dry run shows a plan, or a served deployment accepted it),
1 refused (nothing changed), 69 the Prefect API named by PREFECT_API_URL did not answer (nothing
changed), 70 the revert flow failed (run ``template revert`` again: it resumes the rows still pending).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonesys.cli.common import JsonOption, attempt, console, err_console, print_json
from phonesys.cli.template import TemplateArg, app
from phonesys.cli.template_run import Policy
from phonesys.rules.limits import CHUNK_SIZE_MAX

if TYPE_CHECKING:
    from phonesys.flows.run_template import HandedOff
    from phonesys.storage.inventory.revert_plan import RevertPlan

EXIT_FLOW_FAILED = 70


@app.command("revert")
def revert(
    template: TemplateArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and the pool impact; change "
                                          "nothing.")] = False,
    policy: Annotated[Policy, typer.Option("--policy", help="continue: remove what is unchanged, keep what "
                                           "changed since; all-or-nothing: refuse if anything changed "
                                           "since.")] = Policy.continue_,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", min=1, max=CHUNK_SIZE_MAX,
                                                   help="Extensions per task (one transaction each).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="When the template-revert deployment is served, follow "
                                       "its run to the end (a revert run here always runs to its end).")] = False,
    foreground: Annotated[bool, typer.Option("--foreground", help="Run the revert in this process even when "
                                             "the template-revert deployment is served.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove the extensions a completed template made (their base licenses, add-ons and numbers
    go back to the pools, their users become unassigned).

    When the template-revert deployment is served (`phonesys serve` or a worker), the run is
    handed to it: the command prints the flow run and, with --wait, follows it to the end;
    otherwise the revert runs here, to its end.

    An extension changed since the template made it (by hand, by another template) is kept and
    listed with what changed, when and by whom (changed-since). While the revert runs, its
    extensions cannot be changed by anyone; it runs as the Prefect flow template-revert, writes its
    own report, and is recorded in the audit log. Run it again to resume one that was interrupted.

    Example: phonesys template revert 7c1d...9a --dry-run
    """
    from phonesys.cli.common import inventory
    from phonesys.cli.ops import with_prefect
    from phonesys.ops.prefect_api import check_configured_api
    from phonesys.storage.inventory.revert_plan import start_revert

    engine = inventory()
    if not dry_run:
        with_prefect(as_json, check_configured_api)
    plan = attempt(as_json, lambda: start_revert(engine, template, policy=policy.value, dry_run=dry_run))
    if dry_run:
        print_json({"ok": True, **plan.as_dict()}) if as_json else _print_plan(plan)
        return
    if not as_json:
        _print_plan(plan)
    _run(plan, chunk_size, as_json, wait=wait, foreground=foreground)


def _run(plan: RevertPlan, chunk_size: int | None, as_json: bool, *, wait: bool, foreground: bool) -> None:
    from phonesys.cli.ops import with_prefect
    from phonesys.flows.template_revert import run_revert

    def announce(handed: HandedOff) -> None:
        if not as_json:
            err_console.print(f"Handed off to deployment {handed.deployment}: flow run {handed.flow_run_name} "
                              f"({handed.flow_run_id}) {handed.url or ''}".rstrip())

    ran = with_prefect(as_json, lambda: run_revert(plan.template_uuid, plan.org_uuid, chunk_size, wait=wait,
                                                   foreground=foreground, on_handoff=announce))
    handed: dict[str, Any] = {"handed_off": True, **ran.handed_off.as_dict()} if ran.handed_off else {}
    if ran.state is None:
        print_json({"ok": True, **plan.as_dict(), **handed}) if as_json else console.print(
            f"Revert handed to flow run {handed['flow_run_name']} ({handed['flow_run_id']}); follow it: "
            f"{handed['url'] or 'the Prefect UI'}, or `phonesys template show {plan.template_uuid}`")
        return
    if not ran.state.is_completed():
        message = f"the revert flow ended {ran.state.name}: {ran.state.message}; run `phonesys template revert " \
                  f"{plan.template_uuid}` again to resume it"
        print_json({"ok": False, "uuid": plan.template_uuid, "state": ran.state.name, "message": message,
                    **handed}) if as_json else console.print(message)
        raise typer.Exit(EXIT_FLOW_FAILED)
    _print_reverted(plan, str(ran.state.name), str(ran.state.message or ""), handed, as_json)


def _print_reverted(plan: RevertPlan, state: str, message: str, handed: dict[str, Any], as_json: bool) -> None:
    """What the revert did, read from its ledger: the same figures wherever it ran."""
    from phonesys.cli.common import inventory
    from phonesys.settings import load_settings
    from phonesys.storage.inventory.revert import revert_result
    from phonesys.storage.objects import open_object_store

    counts, key = revert_result(inventory(), plan.template_uuid)
    report = open_object_store(load_settings().objects_url).location(key) if key else None
    if as_json:
        print_json({"ok": True, **plan.as_dict(), "state": state, "counts": counts, "report": report, **handed})
    else:
        console.print(f"Reverted: {message}")
        console.print(f"Revert report: {report or '-'}")


def _print_plan(plan: RevertPlan) -> None:
    if plan.resumed:
        console.print(f"Resuming the revert of {plan.template_uuid} as planned ({plan.policy}).")
        return
    verb = "Would remove" if plan.dry_run else "Removing"
    keys = f": {', '.join(plan.remove[:10])}{' ...' if len(plan.remove) > 10 else ''}" if plan.remove else ""
    console.print(f"{verb} {len(plan.remove)} extension(s){keys}")
    for problem in plan.kept:
        console.print(f"  kept {problem.value}: {problem.message}")
    for problem in plan.gone:
        console.print(f"  gone: {problem.message}")
    if plan.pools:
        console.print("Back to the pools: " + ", ".join(f"{k} +{v}" for k, v in sorted(plan.pools.items())))


@app.command("cancel")
def cancel(
    template: TemplateArg,
    then_revert: Annotated[bool, typer.Option("--revert", help="Then revert the rows already assigned "
                                              "(as `template revert` does).")] = False,
    as_json: JsonOption = False,
) -> None:
    """End an in-progress template where it stands: a run that died, was never handed over, or is no
    longer wanted.

    Its rows not yet assigned fail as `template-cancelled` and give their holds back (licenses, keys, users,
    numbers), the rows already assigned keep their extensions (with --revert they are then reverted),
    and the template ends as completed with a report. Its Prefect run, if one is live on the
    configured server (or this home's local server), is stopped: Cancelled when not started yet,
    Cancelling when a runner or worker runs it; a run inside another command finds nothing left
    to do and ends by itself. Example: phonesys template cancel 7c1d...9a --revert
    """
    from phonesys.cli.common import inventory, run
    from phonesys.ops.run_cancel import CancelDone, cancel_and_stop
    from phonesys.settings import load_settings
    from phonesys.storage.objects import open_object_store

    engine = inventory()

    def action() -> CancelDone:
        return cancel_and_stop(engine, open_object_store(load_settings().objects_url), template)

    def render(done: CancelDone) -> None:
        cancelled = done.outcome.cancelled
        console.print(f"Cancelled {cancelled.template_uuid}: {cancelled.cancelled} row(s) not assigned "
                      f"(holds released), {cancelled.assigned} kept; report: {done.outcome.report}")
        for run_id in done.runs.cancelled:
            console.print(f"  stopped flow run {run_id}")
        for run_id in done.runs.left:
            console.print(f"  flow run {run_id} runs inside another command; it finds nothing left and ends")
        if done.runs.note:
            err_console.print(f"note: {done.runs.note}", soft_wrap=True)

    if not then_revert:
        run(as_json, action, render)
        return
    outcome = attempt(as_json, action)
    if not as_json:
        render(outcome)
    revert(outcome.outcome.cancelled.template_uuid, dry_run=False, policy=Policy.continue_, chunk_size=None,
           wait=True, foreground=False, as_json=as_json)
