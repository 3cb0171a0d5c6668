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
