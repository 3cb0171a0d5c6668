"""``phonesys export``: the organization export files, written to object storage."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from phonesys.cli.common import JsonOption, OrgArg, console, inventory, run

app = typer.Typer(help="Write an organization's export files to object storage.", no_args_is_help=True)


class Format(str, Enum):
    csv = "csv"
    parquet = "parquet"


FormatOption = Annotated[Format, typer.Option("--format", help="csv (Excel-safe, UTF-8 with BOM) or "
                                              "parquet (raw values, for data tools).")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Also save a local copy "
                                                      "here (a directory keeps the export's name).")]


def _run_export(kind: str, org: str, fmt: Format, output: Path | None, as_json: bool,
                available_only: bool = False, since: str | None = None) -> None:
    from phonesys.services import exports
    from phonesys.settings import load_settings
    from phonesys.storage.objects import open_object_store

    def action() -> dict[str, Any]:
        store = open_object_store(load_settings().objects_url)
        if kind == "extensions":
            return exports.export_extensions(inventory(), store, org, fmt.value, output).as_dict()
        if kind == "audit":
            from phonesys.rules.audit import parse_when

            return exports.export_audit(inventory(), store, org, fmt.value, output,
                                        parse_when(since, "since")).as_dict()
        return exports.export_numbers(inventory(), store, org, fmt.value, output,
                                      available_only=available_only).as_dict()

    def render(result: dict[str, Any]) -> None:
        console.print(f"Wrote {result['rows']:,} row(s) to {result['location']}")
        if result["local_copy"]:
            console.print(f"Local copy: {result['local_copy']}")

    run(as_json, action, render)


@app.command("extensions")
def extensions(org: OrgArg, fmt: FormatOption = Format.csv, output: OutputOption = None,
               as_json: JsonOption = False) -> None:
    """Export provisioned extensions: Ext Key, Number, User, Addon License, Directory Name, Identity UUID.

    Written to exports/<orgUuid>/<orgUuid>_<YYYYMMDDTHHMMSSZ>_license_phonesystem_provisioned_extension.csv
    in object storage (PHONESYS_STORAGE_URL).

    Example: phonesys export extensions 0b9f...e1 --output ./exports/
    """
    _run_export("extensions", org, fmt, output, as_json)


@app.command("numbers")
def numbers(org: OrgArg, fmt: FormatOption = Format.csv, output: OutputOption = None,
            available_only: Annotated[bool, typer.Option("--available-only", help="Only the numbers free to "
                                                         "assign (neither assigned nor held).")] = False,
            as_json: JsonOption = False) -> None:
    """Export the number licenses of an organization: Number, Status (available, assigned, or held
    by a template in progress), the Ext Key it is on (or held for) and the holding template.

    Written to exports/<orgUuid>/<orgUuid>_<YYYYMMDDTHHMMSSZ>_license_phonesystem_available_number.csv
    (the portal's file name, kept for scripts).

    Example: phonesys export numbers 0b9f...e1 --available-only --format parquet
    """
    _run_export("numbers", org, fmt, output, as_json, available_only=available_only)


@app.command("audit")
def audit(org: OrgArg, fmt: FormatOption = Format.csv, output: OutputOption = None,
          since: Annotated[str | None, typer.Option(metavar="WHEN", help="Only events from this UTC date or "
                                                    "date-time on (2026-12-01, 2026-12-01T09:30).")] = None,
          as_json: JsonOption = False) -> None:
    """Export the organization's audit log: Event Id, At (UTC), Actor, Action, Target Type, Target,
    Extension Id, Template UUID, Before, After (JSON), Correlation, Outcome; oldest first.

    Written to exports/<orgUuid>/<orgUuid>_<YYYYMMDDTHHMMSSZ>_license_phonesystem_audit.csv.

    Example: phonesys export audit 0b9f...e1 --since 2026-12-01 --format parquet
    """
    _run_export("audit", org, fmt, output, as_json, since=since)
