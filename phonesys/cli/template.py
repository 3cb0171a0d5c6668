"""``phonesys template``: bulk assignment templates (create, fill with CSV uploads, inspect)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from phonesys.cli.common import JsonOption, OrgArg, console, err_console, inventory, run

if TYPE_CHECKING:
    from phonesys.storage.inventory.results import NewDraft, TemplateDetail

app = typer.Typer(help="Bulk assignment templates: a name, add-ons for every row, and users from CSV "
                       "files.", no_args_is_help=True)
TemplateArg = Annotated[str, typer.Argument(metavar="TEMPLATE", help="Template UUID (see `phonesys "
                                             "template list ORG`).", show_default=False)]
AddonOption = Annotated[list[str] | None, typer.Option("--addon", "-a", help="Add-on every row gets; "
                                                          "repeat for several.", show_default=False)]


@app.command("create")
def create(org: OrgArg, name: Annotated[str, typer.Option("--name", help="Template name.")],
           addons: AddonOption = None, as_json: JsonOption = False) -> None:
    """Create a draft template; prints its UUID.

    Example: phonesys template create 0b9f...e1 --name "Sales onboarding" --addon "Call Recording"
    """
    from phonesys.storage.inventory.templates import create_template

    run(as_json, lambda: create_template(inventory(), org, name, addons or []), _print_created)


def status_text(status: str, cancelled: bool, revert: str | None) -> str:
    """``completed (cancelled, reverted)``: the status, and how its end was changed since."""
    notes = [note for note in ("cancelled" if cancelled else None, revert) if note]
    return f"{status} ({', '.join(notes)})" if notes else status


@app.command("list")
def list_(org: OrgArg, search: Annotated[str | None, typer.Option("--search", help="Part of a name "
                                                                      "or UUID.")] = None,
          as_json: JsonOption = False) -> None:
    """List an organization's templates: UUID, name, total users, status.

    Example: phonesys template list 0b9f...e1 --search sales
    """
    from phonesys.storage.inventory.template_views import list_templates

    def render(result: dict[str, Any]) -> None:
        table = Table(box=None, pad_edge=False)
        table.add_column("uuid", no_wrap=True, min_width=36)
        for column in ("name", "total users", "status"):
            table.add_column(column)
        for t in result["templates"]:
            table.add_row(t["uuid"], t["name"], str(t["total_users"]), status_text(t["status"], t["cancelled"],
                                                                                  t["revert"]))
        console.print(table)
        console.print(f"{len(result['templates'])} template(s)")

    run(as_json, lambda: {"templates": list_templates(inventory(), org, search)}, render)


@app.command("show")
def show(template: TemplateArg, as_json: JsonOption = False) -> None:
    """Show a template: status, add-ons, total users and the files uploaded.

    Example: phonesys template show 7c1d...9a
    """
    from phonesys.storage.inventory.template_views import template_detail

    def render(t: TemplateDetail) -> None:
        console.print(f"{t.name}  ({t.uuid})", style="bold")
        console.print(f"  status       {status_text(t.status, t.cancelled, t.revert)}")
        console.print(f"  add-ons      {', '.join(t.addons) or '-'}")
        console.print(f"  total users  {t.total_users}")
        for f in t.files:
            console.print(f"  file         {f.file_name}: {f.rows} rows by {f.identifier_kind}")

    run(as_json, lambda: template_detail(inventory(), template), render)


@app.command("users")
def users(template: TemplateArg, limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
          as_json: JsonOption = False) -> None:
    """List the users (rows) of a draft or in-progress template.

    Example: phonesys template users 7c1d...9a --limit 20
    """
    from phonesys.storage.inventory.template_views import template_users

    def render(result: dict[str, Any]) -> None:
        table = Table("ext key", "user's name", "identity uuid", "number", "file", "row", box=None,
                      pad_edge=False)
        for r in result["users"]:
            table.add_row(r["ext_key"], r["user_name"], r["identity_uuid"], r["number"] or "", r["file"],
                          str(r["row"]))
        console.print(table)
        console.print(f"{len(result['users'])} user(s)")

    run(as_json, lambda: {"users": template_users(inventory(), template, limit)}, render)


@app.command("rename")
def rename(template: TemplateArg,
           name: Annotated[str, typer.Argument(metavar="NAME", help="The new name, 1-200 characters.",
                                               show_default=False)],
           as_json: JsonOption = False) -> None:
    """Rename a draft template (a started or completed template keeps its name).

    Example: phonesys template rename 7c1d...9a "Sales onboarding 2027"
    """
    from phonesys.storage.inventory.templates import rename_template

    run(as_json, lambda: rename_template(inventory(), template, name),
        lambda r: console.print(f"Template {r.uuid} is now named '{r.name}'"))


@app.command("set-addons")
def set_addons(template: TemplateArg,
               skus: Annotated[list[str] | None, typer.Argument(metavar="[SKU]...", help="Add-ons every "
                                                                   "row gets; none clears them.")] = None,
               as_json: JsonOption = False) -> None:
    """Replace a draft template's add-ons.

    Example: phonesys template set-addons 7c1d...9a "Call Recording" "Voicemail Transcription"
    """
    from phonesys.storage.inventory.templates import set_template_addons

    run(as_json, lambda: set_template_addons(inventory(), template, skus or []),
        lambda r: console.print(f"Template {r.uuid} add-ons: {', '.join(r.addons) or '-'}"))


@app.command("duplicate")
def duplicate(template: TemplateArg,
              name: Annotated[str | None, typer.Option("--name", help="Name of the copy.")] = None,
              failed_only: Annotated[bool, typer.Option("--failed-only", help="Copy only the rows whose "
                                                        "assignment failed, to fix and start again.")] = False,
              as_json: JsonOption = False) -> None:
    """Copy a template (any status) into a new draft with the same add-ons and users; prints its UUID.

    A completed template's copy keeps only the rows that can still be assigned (their user has no
    extension, their key and number are free) and says how many it left out and why.

    Example: phonesys template duplicate 7c1d...9a --failed-only --name "Sales onboarding (retry)"
    """
    from phonesys.storage.inventory.templates import duplicate_template

    run(as_json, lambda: duplicate_template(inventory(), template, name, failed_only), _print_created)


def _print_created(result: NewDraft) -> None:
    """The bare UUID on stdout, so ``T=$(phonesys template create ...)`` works; the sentence on stderr."""
    from phonesys.storage.inventory.results import TemplateCopy

    copied = result if isinstance(result, TemplateCopy) else None
    console.print(result.uuid)
    err_console.print(f"Created draft template {result.uuid} ({result.name})"
                      + (f" with {copied.total_users} user(s)" if copied else ""))
    left_out = ", ".join(f"{count} {code}" for code, count in (copied.left_out if copied else {}).items())
    if left_out:
        err_console.print(f"Left out the rows that cannot be assigned again: {left_out}")


@app.command("delete")
def delete(template: TemplateArg, as_json: JsonOption = False) -> None:
    """Delete a draft template and its users.

    Example: phonesys template delete 7c1d...9a
    """
    from phonesys.storage.inventory.templates import delete_template

    run(as_json, lambda: delete_template(inventory(), template),
        lambda r: console.print(f"Deleted template {r.uuid}"))


@app.command("upload")
def upload(template: TemplateArg,
           files: Annotated[list[Path] | None, typer.Argument(metavar="[FILE]...", help="Local CSV files.",
                                                                 show_default=False)] = None,
           keys: Annotated[list[str] | None, typer.Option("--key", "-k", help="A CSV already in object "
                                                             "storage (key under PHONESYS_STORAGE_URL); repeatable.",
                                                             show_default=False)] = None,
           as_json: JsonOption = False) -> None:
    """Validate CSV files and, if every one is clean, add their users to a draft template.

    Layouts: `Ext Key,User's Name,Number` or `Ext Key,Identity UUID,Number` (see `phonesys sample-csv`).
    Every problem in every file is listed at once with file, row and column, and written to
    `<upload>.errors.csv` next to the upload in object storage; a rejected upload adds nothing.

    Example: phonesys template upload 7c1d...9a sales-1.csv sales-2.csv
    """
    from phonesys.rules.errors import Problem, Refused
    from phonesys.services.uploads import UploadResult, UploadSource, upload_files
    from phonesys.settings import load_settings
    from phonesys.storage.objects import open_object_store

    def action() -> UploadResult:
        sources = [UploadSource(path=p) for p in files or []] + [UploadSource(key=k) for k in keys or []]
        if not sources:
            raise Refused(Problem("upload-nothing", "Give at least one FILE or --key.", "file"))
        return upload_files(inventory(), open_object_store(load_settings().objects_url), template, sources)

    def render(result: UploadResult) -> None:
        for f in result.files:
            console.print(f"Accepted {f.file_name}: {f.rows} users by {f.identifier_kind} (kept at {f.location})")
        console.print(f"Template {result.uuid} now has {result.total_users} users")

    run(as_json, action, render)
