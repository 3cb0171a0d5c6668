"""``phonesys audit`` and ``phonesys ext history``: who changed what, when, before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from phonesys.cli.common import ExtArg, JsonOption, OrgArg, console, inventory, run
from phonesys.rules.audit import change_summary, parse_when
from phonesys.rules.limits import AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX

if TYPE_CHECKING:
    from phonesys.storage.inventory.audit_queries import AuditEvent

When = Annotated[str | None, typer.Option(metavar="WHEN", help="UTC date or date-time, e.g. 2026-12-01 or "
                                                               "2026-12-01T09:30.", show_default=False)]


def audit(
    org: OrgArg,
    since: When = None,
    until: When = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor, e.g. cli:alice, token:ci, "
                                                   "dropfolder:<request>.")] = None,
    action: Annotated[list[str] | None, typer.Option(
        metavar="ACTION", help="Only this action (the README's audit actions, e.g. ext.set-number); repeat for "
                               "several.")] = None,
    ext: Annotated[str | None, typer.Option("--ext", metavar="KEY", help="Only events of this extension key.")] = None,
    number: Annotated[str | None, typer.Option(help="Only events whose before/after holds this number.")] = None,
    user: Annotated[str | None, typer.Option(help="Only events whose before/after holds this user "
                                                  "(identity UUID or name).")] = None,
    template: Annotated[str | None, typer.Option(help="Only events of this template (UUID).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=AUDIT_LIMIT_MAX,
                                       help="At most this many, newest first.")] = AUDIT_LIMIT_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """The organization's audit events, newest first: when, who, what, on what, and what changed.

    Every change is recorded in the same transaction as the change itself, by every door (CLI, API,
    drop folder, bulk runs). Example: phonesys audit 0b9f...e1 --ext 101 --since 2026-12-01
    """
    from phonesys.storage.inventory.audit_queries import AuditFilter, org_events

    def action_() -> list[AuditEvent]:
        wanted = AuditFilter(parse_when(since, "since"), parse_when(until, "until"), actor, tuple(action or ()), ext,
                             number, user, template)
        return org_events(inventory(), org, wanted, limit)

    run(as_json, lambda: {"events": [e.as_dict() for e in action_()]}, lambda r: events_table(r["events"]))


def history(org: OrgArg, key: ExtArg, as_json: JsonOption = False) -> None:
    """One extension's timeline, oldest first, across key changes: every event of every extension
    that has had KEY (created, each change, deleted), with who made it.

    Example: phonesys ext history 0b9f...e1 101
    """
    from phonesys.storage.inventory.audit_queries import extension_history

    run(as_json, lambda: {"events": [e.as_dict() for e in extension_history(inventory(), org, key)]},
        lambda r: events_table(r["events"]))


def events_table(events: list[dict[str, Any]]) -> None:
    if not events:
        console.print("No audit events match.")
        return
    table = Table("when (UTC)", "actor", "action", "target", "change", box=None, pad_edge=False)
    for event in events:
        outcome = "" if event["outcome"] == "ok" else f" ({event['outcome']})"
        table.add_row(str(event["at"])[:19], event["actor"], event["action"] + outcome,
                      str(event["target"] or ""), change_summary(event["before"], event["after"]))
    console.print(table)
