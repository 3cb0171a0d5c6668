"""``phonesys provision`` and ``phonesys ext``: create and manage extensions one at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from phonesys.cli.common import ExtArg, JsonOption, OrgArg, console, inventory, run
from phonesys.cli.render import extension_detail, extension_table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from phonesys.storage.inventory.results import ExtensionDeleted

app = typer.Typer(help="List, show and change Phone System extensions.", no_args_is_help=True)


def provision(
    org: OrgArg,
    start: Annotated[str, typer.Option("--start", "-s", help="First ext key, 3-5 digits.")],
    count: Annotated[int, typer.Option("--count", "-n", help="How many extensions to create.")] = 1,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Assign this user (identity UUID or "
                                                "exact name) to the new extension.")] = None,
    addons: Annotated[list[str] | None, typer.Option("--addon", "-a", metavar="SKU", help="Give it "
                                                        "this add-on; repeat for several.")] = None,
    number: Annotated[str | None, typer.Option("--number", metavar="NUMBER",
                                                                help="Give it this available number.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create COUNT consecutive extensions from START, or one extension with its
    user, add-ons and number in one step ("Provision & Assign").

    Keys must be 3-5 digits and free, enough base licenses must remain, and a
    user, add-on or number must be available (not assigned, not held by a
    template in progress); otherwise nothing is created and every problem is
    listed.

    Examples: phonesys provision 0b9f...e1 --count 10 --start 101

    phonesys provision 0b9f...e1 --start 101 --user "Ana Lim" --addon Voicemail --number +6560000001
    """
    from phonesys.storage.inventory.provisioning import Assignment
    from phonesys.storage.inventory.provisioning import provision as create

    assign = Assignment(user, tuple(addons or ()), number)

    def render(keys: list[str]) -> None:
        what = f": {keys[0]}..{keys[-1]}" if len(keys) > 1 else f" {keys[0]}"
        console.print(f"Provisioned {len(keys)} extension(s){what}" + (" and assigned it" if assign else ""))

    run(as_json, lambda: {"ext_keys": create(inventory(), org, count, start, assign)},
        lambda result: render(result["ext_keys"]))


@app.command("list")
def list_extensions(
    org: OrgArg,
    has_user: Annotated[bool | None, typer.Option("--has-user/--no-user", help="Only with / without a user.",
                                                     show_default=False)] = None,
    has_number: Annotated[bool | None, typer.Option(
        "--has-number/--no-number", help="Only with / without a number.", show_default=False)] = None,
    addon: Annotated[str | None, typer.Option("--addon", help="Only extensions holding this add-on.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many rows.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List extensions in key order, with user, number and add-ons.

    Example: phonesys ext list 0b9f...e1 --no-user --addon "Call Recording"
    """
    from phonesys.storage.inventory.views import list_extensions as query

    run(as_json, lambda: {"extensions": query(inventory(), org, has_user=has_user, has_number=has_number,
                                               addon=addon, limit=limit)},
        lambda result: extension_table(result["extensions"]))


@app.command("show")
def show(org: OrgArg, ext: ExtArg, as_json: JsonOption = False) -> None:
    """Show one extension.

    Example: phonesys ext show 0b9f...e1 101
    """
    from phonesys.storage.inventory.views import show_extension

    run(as_json, lambda: show_extension(inventory(), org, ext), extension_detail)


def _then_show(org: str, ext: str, action: Callable[[Engine], object]) -> dict[str, Any]:
    """Apply a change, then return the extension as it now stands."""
    from phonesys.storage.inventory.views import show_extension

    engine = inventory()
    from phonesys.storage.inventory.results import ExtensionEdited

    result = action(engine)
    key = result.ext_key if isinstance(result, ExtensionEdited) else ext
    return show_extension(engine, org, key)


@app.command("assign-user")
def assign_user(
    org: OrgArg, ext: ExtArg,
    user: Annotated[str, typer.Argument(help="Identity UUID, or a name matching exactly one user.",
                                        show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Assign (or change) the extension's user; the user must not hold another extension.

    Example: phonesys ext assign-user 0b9f...e1 101 "Tony Tan"
    """
    from phonesys.storage.inventory.extensions import assign_user as assign

    run(as_json, lambda: _then_show(org, ext, lambda e: assign(e, org, ext, user)), extension_detail)


@app.command("unassign-user")
def unassign_user(org: OrgArg, ext: ExtArg, as_json: JsonOption = False) -> None:
    """Remove the extension's user; the extension and its licenses stay.

    Example: phonesys ext unassign-user 0b9f...e1 101
    """
    from phonesys.storage.inventory.extensions import unassign_user as unassign

    run(as_json, lambda: _then_show(org, ext, lambda e: unassign(e, org, ext)), extension_detail)


@app.command("set-addons")
def set_addons(
    org: OrgArg, ext: ExtArg,
    skus: Annotated[list[str] | None, typer.Argument(metavar="[SKU]...", help="Add-on names; none clears "
                                                        "all add-ons.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the extension's add-ons with exactly the SKUs given.

    Dropped add-ons return to their pools; new ones must have a license available.

    Example: phonesys ext set-addons 0b9f...e1 101 "Call Recording" "Voicemail Transcription"
    """
    from phonesys.storage.inventory.extensions import set_addons as replace

    run(as_json, lambda: _then_show(org, ext, lambda e: replace(e, org, ext, skus or [])), extension_detail)


@app.command("set-number")
def set_number(
    org: OrgArg, ext: ExtArg,
    number: Annotated[str | None, typer.Argument(help="E.164 number the org owns, e.g. +6560000001.",
                                                    show_default=False)] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the extension's number.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Give the extension one of the organization's available numbers, or --clear it.

    Example: phonesys ext set-number 0b9f...e1 101 +6560000001
    """
    from phonesys.rules.errors import Problem, Refused
    from phonesys.storage.inventory.extensions import set_number as assign

    def action(engine: Engine) -> object:
        if clear == (number is not None):
            raise Refused(Problem("number-argument", "Give either a NUMBER or --clear (not both)."))
        return assign(engine, org, ext, None if clear else number)

    run(as_json, lambda: _then_show(org, ext, action), extension_detail)


@app.command("edit")
def edit(
    org: OrgArg, ext: ExtArg,
    key: Annotated[str | None, typer.Option("--key", help="New ext key, 3-5 digits.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Directory name, at most 100 characters; "
                                                "'' resets it to the user's name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the extension's key and/or directory name.

    Example: phonesys ext edit 0b9f...e1 101 --key 201 --name "Front desk"
    """
    from phonesys.storage.inventory.extensions import edit_extension

    run(as_json, lambda: _then_show(org, ext, lambda e: edit_extension(e, org, ext, new_key=key,
                                                                        directory_name=name)),
        extension_detail)


@app.command("delete")
def delete(org: OrgArg, ext: ExtArg, as_json: JsonOption = False) -> None:
    """Delete the extension: its base license, add-ons and number go back to the pools.

    Example: phonesys ext delete 0b9f...e1 101
    """
    from phonesys.storage.inventory.provisioning import delete_extension

    def render(result: ExtensionDeleted) -> None:
        released = result.released
        console.print(f"Deleted extension {result.ext_key}; released 1 base license, "
                      f"{len(released.addons)} add-on(s), number {released.number or '-'}")

    run(as_json, lambda: delete_extension(inventory(), org, ext), render)
