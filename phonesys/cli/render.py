"""Human-readable output: tables for usage and extensions, and the bar a bulk run shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from phonesys.cli.common import console, err_console

if TYPE_CHECKING:
    from phonesys.services.bulk_job import RowCounts
    from phonesys.storage.inventory.results import OrgUsage


@contextmanager
def row_progress_bar(enabled: bool) -> Iterator[Callable[[RowCounts], None] | None]:
    """A bar fed by the ledger's counts, whichever process assigns the rows; None when not wanted."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("assigning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as bar:
        task = bar.add_task("rows", total=None)
        yield lambda counts: bar.update(task, total=counts.rows, completed=counts.decided)


def usage_table(usage: OrgUsage) -> None:
    console.print(Text.assemble((usage.name, "bold"), f"  ({usage.org_uuid})"))
    table = Table("pool", "total", "used", "held", "available", box=None, pad_edge=False)

    def cells(*figures: int) -> list[str]:
        return [str(figure) for figure in figures]
    base, numbers, people = usage.base_licenses, usage.numbers, usage.users
    table.add_row("Phone System base licenses", *cells(base.total, base.used, base.held, base.available))
    for sku, pool in usage.addons.items():
        table.add_row(f"add-on: {sku}", *cells(pool.total, pool.used, pool.held, pool.available))
    table.add_row("numbers", *cells(numbers.total, numbers.assigned, numbers.held, numbers.available))
    table.add_row("users (assigned / unassigned)",
                  *cells(people.total, people.assigned, people.held, people.unassigned))
    console.print(table)
    if any(pool.held for pool in (base, *usage.addons.values())):
        console.print("held: reserved by templates in progress until their rows are assigned "
                      "(`phonesys template list ORG`)")


def extension_table(rows: list[dict[str, Any]]) -> None:
    table = Table("ext key", "directory name", "user", "number", "add-ons", box=None, pad_edge=False)
    for row in rows:
        user = row["user"] or {}
        table.add_row(row["ext_key"], row["directory_name"] or "", user.get("name", ""),
                      row["number"] or "", ", ".join(row["addons"]))
    console.print(table)
    console.print(f"{len(rows)} extension(s)")


def extension_detail(row: dict[str, Any]) -> None:
    user = row["user"]
    console.print(f"Extension {row['ext_key']}", style="bold")
    console.print(f"  directory name  {row['directory_name'] or '-'}")
    console.print(f"  user            {user['name'] + ' (' + user['identity_uuid'] + ')' if user else '-'}")
    console.print(f"  number          {row['number'] or '-'}")
    console.print(f"  add-ons         {', '.join(row['addons']) or '-'}")
