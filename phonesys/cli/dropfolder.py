"""``phonesys dropfolder``: process the S3 (or local) drop folder from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonesys.cli.common import JsonOption, console, print_json
from phonesys.cli.ops import with_prefect

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

app = typer.Typer(help="The drop folder: incoming/<orgUuid>/<request>/ with CSV files and request.json.",
                  no_args_is_help=True)


@app.command("scan")
def scan(wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the bulk assignments the "
                                            "scan hands to the served deployment; when none is served "
                                            "the scan runs them itself either way.")] = True,
         as_json: JsonOption = False) -> None:
    """Process every complete request in the drop folder once.

    A request is complete when its request.json exists; each is claimed exactly once, validated,
    turned into a template, started if asked, and moved to processed/ or rejected/ with a status.json.

    On the embedded default an empty scan is recorded on the home's Prefect server without
    loading Prefect: a Completed run tagged nothing-found, in well under a second.

    Example: PHONESYS_STORAGE_URL=s3://acme-phonesys phonesys dropfolder scan
    """
    from phonesys.ops.idle_scan import scan_if_idle
    from phonesys.settings import load_settings

    result = with_prefect(as_json, lambda: scan_if_idle(load_settings(), wait)) or _run_scan_flow(wait)
    if as_json:
        print_json({"ok": True, **result})
        return
    console.print(f"Found {result['found']} request(s): {result['claimed']} claimed, {result['rejected']} "
                  f"rejected, {result['started']} started, {result['skipped']} already taken")
    for outcome in result["requests"]:
        if outcome["status"] != "skipped":
            request = f"{outcome['org_uuid']}/{outcome['request']}"
            console.print(f"  {request}: {outcome['status']} -> {outcome['status_key']}")


def _run_scan_flow(wait: bool) -> dict[str, Any]:
    """Run the scan's flow here, to its end; its result with the run's id and message."""
    from phonesys.ops.prefect_env import prepare_prefect, scan_tags

    prepare_prefect()
    from prefect import tags

    from phonesys.flows.drop_folder import drop_folder_scan

    with tags(*scan_tags()):
        state = drop_folder_scan(wait=wait, return_state=True)
    if not state.is_completed():
        console.print(f"error scan-failed: {state.message}", soft_wrap=True)
        raise typer.Exit(70)
    return {"flow_run_id": str(state.state_details.flow_run_id), "message": state.message, **_scan_result(state)}


def _scan_result(state: State[Any]) -> dict[str, Any]:
    """The scan flow ends in the state ``scan_state`` built; Prefect hands back that state's data."""
    data: object = state.result()
    if not isinstance(data, dict):
        raise TypeError(f"the drop-folder scan returned {type(data).__name__}, not its summary")
    return data
