"""``phonesys demo``: the main job on the embedded defaults, end to end.

Demo organization -> manual provisioning -> a 15,000-row CSV with mistakes (rejected, every problem
listed) -> fixed and accepted -> template started -> another admin takes a few users meanwhile ->
the bulk assignment flow runs with a progress bar -> summary, report and export paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phonesys.cli.common import JsonOption, console, inventory, run
from phonesys.cli.render import row_progress_bar, usage_table
from phonesys.settings import load_settings

if TYPE_CHECKING:
    from phonesys.demo.scenario import DemoResult


def demo(as_json: JsonOption = False) -> None:
    """Run the whole product once on a demo organization: manual and bulk provisioning.

    Safe to rerun: the demo organization is recreated each time. Uses PHONESYS_HOME,
    PHONESYS_DATABASE_URL and PHONESYS_STORAGE_URL like every other command; the Prefect flow runs
    against PREFECT_API_URL if set, else Prefect's temporary local server.

    Example: phonesys demo
    """
    from phonesys.demo.scenario import run_scenario

    say = (lambda line: None) if as_json else console.print
    bar = lambda: row_progress_bar(enabled=not as_json)  # noqa: E731
    run(as_json, lambda: run_scenario(inventory(), load_settings(), say, bar), _render)


def _render(result: DemoResult) -> None:
    console.print()
    usage_table(result.usage)
    console.print()
    for label, path in result.files.items():
        console.print(f"{label:<28} {path}")
    if result.counts.failed:
        console.print(f"\nRetry the failed rows: phonesys template duplicate {result.template_uuid} --failed-only")
    else:
        console.print(f"\nSee the template: phonesys template report {result.template_uuid}")
