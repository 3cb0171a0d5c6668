"""``phonesys org``: load organizations, import users, show usage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonesys.cli.common import JsonOption, OrgArg, console, inventory, run
from phonesys.cli.render import usage_table

if TYPE_CHECKING:
    from phonesys.storage.inventory.results import OrgListing, OrgLoaded, UsersImported

app = typer.Typer(help="Load organizations and see their license, number and user usage.",
                  no_args_is_help=True)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="JSON or YAML organization document.", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Create or update an organization from a JSON/YAML document.

    The document gives org_uuid, name, base_licenses, addons {name: count}, numbers [E.164] and
    users [{identity_uuid, name}]. Reloading raises or lowers purchased counts (never below what is in
    use) and adds numbers and users; any problem refuses the whole document. Counts are whole numbers
    0-1,000,000; in YAML a value stays the text written unless it is a plain decimal number.

    Example: phonesys org load acme.json
    """
    from phonesys.rules.orgfile import read_org_document
    from phonesys.storage.inventory.orgs import load_org

    def render(result: OrgLoaded) -> None:
        verb = "Created" if result.created else "Updated"
        console.print(f"{verb} organization {result.org_uuid} "
                      f"({result.numbers} numbers, {result.users} users in the document)")

    run(as_json, lambda: load_org(inventory(), read_org_document(file)), render)


@app.command("import-users")
def import_users(
    org: OrgArg,
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="CSV with columns 'Identity UUID' and "
                                              "'User's Name'.", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Bulk-add (or rename) users of an organization from a CSV file.

    Accepts UTF-8 (with or without BOM) or UTF-16 with BOM. Every bad row is reported with its
    spreadsheet row number; one bad row rejects the whole file.

    Example: phonesys org import-users 0b9f...e1 users.csv
    """
    from phonesys.rules.usercsv import read_users_csv
    from phonesys.storage.inventory.orgs import import_users as import_rows

    def render(result: UsersImported) -> None:
        console.print(f"Imported {result.rows} users into {result.org_uuid}: "
                      f"{result.added} added, {result.updated} updated")

    run(as_json, lambda: import_rows(inventory(), org, read_users_csv(csv_file)), render)


@app.command("show")
def show(org: OrgArg, as_json: JsonOption = False) -> None:
    """Show license, number and user usage of an organization.

    Example: phonesys org show 0b9f...e1 --json
    """
    from phonesys.storage.inventory.usage import org_usage

    run(as_json, lambda: org_usage(inventory(), org), usage_table)


@dataclass(frozen=True)
class OrgList:
    """``org list``'s result: its ``--json`` document is ``{"orgs": [...]}``."""

    orgs: tuple[OrgListing, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"orgs": [org.as_dict() for org in self.orgs]}


@app.command("list")
def list_orgs(as_json: JsonOption = False) -> None:
    """List organizations with their UUIDs and base license usage.

    Example: phonesys org list
    """
    from phonesys.storage.inventory.usage import list_orgs as list_all

    def render(result: OrgList) -> None:
        for row in result.orgs:
            base = row.base_licenses
            console.print(f"{row.org_uuid}  {row.name}  base licenses {base.used}/{base.total}")
        console.print(f"{len(result.orgs)} organization(s)")

    run(as_json, lambda: OrgList(tuple(list_all(inventory()))), render)

