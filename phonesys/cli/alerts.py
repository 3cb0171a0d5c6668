"""``phonesys alerts``: Prefect automations that notify a webhook when a human is needed."""

from __future__ import annotations

import os
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any

import typer

from phonesys.cli.common import JsonOption, console, print_json
from phonesys.cli.ops import with_prefect
from phonesys.ops.heartbeats import CRASH_AFTER, MIN_CRASH_AFTER

CRASH_SECONDS, MIN_CRASH_SECONDS = int(CRASH_AFTER.total_seconds()), int(MIN_CRASH_AFTER.total_seconds())

app = typer.Typer(help="Alerts for ops: rejected requests, failed rows, failed or crashed runs.",
                  no_args_is_help=True)


class Kind(str, Enum):
    custom = "custom"
    slack = "slack"
    teams = "teams"


@app.command("setup")
def setup(
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help="Where notifications go "
                                                       "(default: $PHONESYS_ALERT_WEBHOOK_URL).")] = None,
    kind: Annotated[Kind, typer.Option("--kind", help="custom: POST {\"subject\", \"body\"} as JSON; slack: "
                                       "a Slack incoming webhook; teams: a Teams workflow webhook.")] = Kind.custom,
    crash_after: Annotated[int, typer.Option("--crash-after", min=MIN_CRASH_SECONDS, help="Seconds without "
                                             "a heartbeat (runs send one every 30 s) before a run is marked "
                                             "Crashed.")] = CRASH_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Create or update, on the Prefect server at PREFECT_API_URL, the notification block
    `phonesys-alerts` and three automations: a drop-folder request was rejected, a bulk
    assignment ended with failed rows, a phonesys flow run failed or crashed. A fourth marks a
    phonesys run Crashed when its heartbeat stops (its process was killed), so that alert fires
    for it too. Safe to run again: it updates them in place.

    Example: PHONESYS_ALERT_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/XX phonesys alerts setup --kind slack
    """
    from phonesys.ops.alerts import WEBHOOK_URL_ENV, setup_alerts
    from phonesys.ops.prefect_api import require_api

    url = webhook_url or os.environ.get(WEBHOOK_URL_ENV)

    def action() -> dict[str, Any]:
        require_api()
        return setup_alerts(url or "", kind.value, timedelta(seconds=crash_after))

    result = with_prefect(as_json, action)
    if as_json:
        print_json({"ok": True, **result})
        return
    console.print(f"Notification block {result['block']} ({result['kind']}) and automations:")
    for name, automation_id in result["automations"].items():
        console.print(f"  {name}  {automation_id}")
