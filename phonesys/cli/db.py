"""``phonesys db``: schema migrations of the inventory database."""

from __future__ import annotations

from typing import Any

import typer

from phonesys.cli.common import JsonOption, console, run
from phonesys.settings import load_settings

app = typer.Typer(help="Inventory database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(as_json: JsonOption = False) -> None:
    """Apply pending migrations (also done automatically on first use).

    Example: PHONESYS_DATABASE_URL=postgresql+psycopg://u:p@host/db phonesys db upgrade
    """
    from sqlalchemy.engine import make_url

    from phonesys.storage.inventory.engine import current_revision, open_engine

    def action() -> dict[str, Any]:
        settings = load_settings()
        settings.ensure_home()
        engine = open_engine(settings.inventory_url)
        url = make_url(settings.inventory_url).render_as_string(hide_password=True)
        return {"database": url, "revision": current_revision(engine)}

    run(as_json, action, lambda r: console.print(f"{r['database']} is at revision {r['revision']} (head)"))


@app.command("prune-audit")
def prune_audit(as_json: JsonOption = False) -> None:
    """Delete audit events older than PHONESYS_AUDIT_RETENTION_DAYS (default 365).

    The database refuses to change or delete any other audit event; this sets its retention to the
    configured days (recorded as audit.retention when it changes) and records the prune itself.
    Run it daily from cron or a scheduler. Example: PHONESYS_AUDIT_RETENTION_DAYS=180 phonesys db prune-audit
    """
    from phonesys.cli.common import inventory
    from phonesys.storage.inventory.audit_retention import prune

    def render(result: Any) -> None:
        console.print(f"Deleted {result.deleted} audit event(s) from before {result.before[:16].replace('T', ' ')} UTC "
                      f"(retention {result.retention_days} days)")

    run(as_json, lambda: prune(inventory(), load_settings().audit_retention_days), render)
