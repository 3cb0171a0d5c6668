"""``phonesys demo``: the main job on the embedded defaults, end to end."""

from __future__ import annotations

from phonesys.cli.common import JsonOption, console, inventory, run
from phonesys.cli.render import extension_table, usage_table
from phonesys.settings import load_settings


def demo(as_json: JsonOption = False) -> None:
    """Load a demo organization, provision and assign extensions, and print its usage.

    Safe to rerun: the demo organization is recreated each time. Uses PHONESYS_HOME (and
    PHONESYS_DATABASE_URL if set) like every other command.

    Example: phonesys demo
    """
    from sqlalchemy.engine import make_url

    from phonesys.demo import run_demo
    from storage.inventory.usage import org_usage
    from storage.inventory.views import list_extensions

    def action() -> dict:
        engine = inventory()
        org_uuid = run_demo(engine, (lambda line: None) if as_json else console.print)
        return {"org": org_usage(engine, org_uuid), "extensions": list_extensions(engine, org_uuid),
                "database": make_url(load_settings().inventory_url).render_as_string(hide_password=True)}

    def render(result: dict) -> None:
        console.print()
        extension_table(result["extensions"])
        console.print()
        usage_table(result["org"])
        console.print(f"\nInventory database: {result['database']}")
        console.print(f"Try: phonesys org show {result['org']['org_uuid']}")

    run(as_json, action, render)
