"""What every command shares: the ``--json`` option, opening the inventory, and one way to fail.

``run`` is the single place that turns a refusal into output: one line per problem on stderr and
exit status 1 (or a JSON document with ``ok: false`` on stdout), so scripts can rely on both. An
organization another job holds longer than ``PHONESYS_LOCK_TIMEOUT`` is the same kind of output
with exit status 75 (EX_TEMPFAIL: try again later).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, runtime_checkable

import typer
from rich.console import Console
from rich.text import Text

from phonesys.rules.errors import Busy, Problem, Refused, TransientError
from phonesys.settings import SettingsInvalid, load_settings

if TYPE_CHECKING:  # sqlalchemy loads with the inventory: --help and `server` commands never need it
    from sqlalchemy import Engine

T = TypeVar("T")
EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: the database could not be reached
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: another job holds the organization; try again later

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
OrgArg = Annotated[str, typer.Argument(metavar="ORG", help="Organization UUID (see `phonesys org list`).",
                                       show_default=False)]
ExtArg = Annotated[str, typer.Argument(metavar="EXT", help="Extension key, 3-5 digits, e.g. 101.", show_default=False)]

# markup=False: names, messages and file paths are user data; "[/x]" in a name must print as is.
console = Console(highlight=False, markup=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


COMMAND_ID = uuid.uuid4().hex[:12]  # groups the audit events of one command run


def inventory() -> Engine:
    """The inventory engine for the configured database, migrated on first use; a command's writes
    wait at most ``PHONESYS_LOCK_TIMEOUT`` for an organization another job holds."""
    from phonesys.rules.audit import cli_actor
    from phonesys.storage.inventory.audit import acting
    from phonesys.storage.inventory.engine import interactive, open_engine

    settings = load_settings()
    settings.ensure_home()
    engine = interactive(open_engine(settings.inventory_url), settings.lock_timeout)
    return acting(engine, cli_actor(settings.actor), f"cli:{COMMAND_ID}")


def attempt(as_json: bool, action: Callable[[], T]) -> T:
    """Run ``action``; on refusal or an unreachable database print why and exit non-zero."""
    try:
        return action()
    except Refused as refused:
        _print_refusal(refused, as_json)
        raise typer.Exit(EXIT_REFUSED) from None
    except Busy as busy:
        _print_problems([busy.problem], as_json)
        raise typer.Exit(EXIT_TEMPFAIL) from None
    except Exception as exc:
        if not _database_unavailable(exc):
            raise
        _print_unavailable(exc, as_json)
        raise typer.Exit(EXIT_UNAVAILABLE) from None


def _database_unavailable(exc: Exception) -> bool:
    """A transient error, or any DBAPI error (only possible once sqlalchemy is loaded: not imported here)."""
    database = sys.modules.get("sqlalchemy.exc")
    return isinstance(exc, TransientError) or (database is not None and isinstance(exc, database.DBAPIError))


@runtime_checkable
class HasDict(Protocol):
    """A typed result (a frozen dataclass) that turns into its JSON document only here, at the edge."""

    def as_dict(self) -> dict[str, Any]: ...


def run(as_json: bool, action: Callable[[], T], render: Callable[[T], None]) -> T:
    """Run ``action``; print its result as JSON or via ``render``; exit non-zero when refused."""
    result = attempt(as_json, action)
    if as_json:
        document = result.as_dict() if isinstance(result, HasDict) else result
        print_json({"ok": True, **document} if isinstance(document, dict) else {"ok": True, "result": document})
    else:
        render(result)
    return result


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def _print_refusal(refused: Refused, as_json: bool) -> None:
    _print_problems(refused.problems, as_json, refused.details)
    if as_json:
        return
    for name, value in refused.details.items():
        for item in value if isinstance(value, list) else [value]:
            err_console.print(f"note {name.replace('_', ' ').rstrip('s')}: {item}", soft_wrap=True)


def _print_problems(problems: list[Problem], as_json: bool, details: dict[str, Any] | None = None) -> None:
    """One ``error <code>: <message>`` line per problem on stderr, or ``{"ok": false, "problems"}``."""
    from phonesys.rules.values import printable  # here, not at the top: rules loads phonenumbers

    if as_json:
        print_json({"ok": False, "problems": [p.as_dict() for p in problems], **(details or {})})
        return
    for problem in problems:
        # the contract: one line per problem; a hostile value quoted in a message cannot drive the terminal
        one_line = printable(" ".join(str(problem).splitlines()))
        err_console.print(Text.assemble(("error", "red"), f" {one_line}"), soft_wrap=True)


def print_settings_invalid(invalid: SettingsInvalid, as_json: bool) -> None:
    """Every ``PHONESYS_*`` value that does not parse, one ``setting-invalid`` problem each."""
    _print_problems([Problem("setting-invalid", str(each), each.variable, (each.raw or "")[:120])
                     for each in invalid.invalid], as_json)


def _print_unavailable(exc: Exception, as_json: bool) -> None:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    message = f"inventory database unavailable: {reason} (check PHONESYS_DATABASE_URL)"
    if as_json:
        print_json({"ok": False, "problems": [{"code": "database-unavailable", "message": message}]})
    else:
        err_console.print(Text.assemble(("error", "red"), f" database-unavailable: {message}"), soft_wrap=True)
