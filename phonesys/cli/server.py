"""``phonesys server``: the lasting local Prefect server of this PHONESYS_HOME (``phonesys.ops.homeserver``).

The first command that runs a flow without PREFECT_API_URL starts it in the background; these
commands show it, start it ahead of time, and stop it. None imports Prefect: they read the record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from phonesys.cli.common import JsonOption, console, run
from phonesys.settings import load_settings

app = typer.Typer(help="The local Prefect server this PHONESYS_HOME's commands share (started on first use).",
                  no_args_is_help=True)


def _home() -> Path:
    return load_settings().ensure_home().resolve()


def _document(home: Path, record: Any, **extra: Any) -> dict[str, Any]:
    from phonesys.ops.homeserver import server_dir

    document: dict[str, Any] = {"home": str(home), "running": record is not None, **extra}
    if record is not None:
        document.update(pid=record.pid, ui_url=record.ui_url, api_url=record.api_url,
                        started_at=record.started_at, log=str(server_dir(home) / "server.log"))
    return document


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Say whether this home's local Prefect server runs, and where (UI, API, pid, log).

    Example: phonesys server status --json
    """
    from phonesys.ops.homeserver import running
    from phonesys.ops.prefect_api import health_problem

    def action() -> dict[str, Any]:
        home = _home()
        record = running(home)
        problem = health_problem(record.api_url) if record else None
        return _document(home, record, answering=record is not None and problem is None)

    def render(d: dict[str, Any]) -> None:
        if not d["running"]:
            console.print(f"No local Prefect server runs for {d['home']}; the next command that runs a flow "
                          "without PREFECT_API_URL starts one.")
            return
        answering = "answering" if d["answering"] else "NOT answering"
        console.print(f"Local Prefect server for {d['home']}: {answering}, pid {d['pid']} since {d['started_at']}")
        console.print(f"  UI {d['ui_url']}   API {d['api_url']}   log {d['log']}")

    run(as_json, action, render)


@app.command("start")
def start(as_json: JsonOption = False) -> None:
    """Start this home's local Prefect server now (or find it running), instead of on first use.

    Example: phonesys server start
    """
    from phonesys.ops.homeserver import ensure

    def action() -> dict[str, Any]:
        home = _home()
        record, started = ensure(home)
        return _document(home, record, started=started)

    run(as_json, action, lambda d: console.print(
        f"{'Started' if d['started'] else 'Already running:'} local Prefect server, UI {d['ui_url']} "
        f"(pid {d['pid']}); `phonesys server stop` stops it"))


@app.command("stop")
def stop(as_json: JsonOption = False) -> None:
    """Stop this home's local Prefect server (its runs stay in its database for the next one).

    Example: phonesys server stop
    """
    from phonesys.ops.homeserver import stop as stop_server

    def action() -> dict[str, Any]:
        home = _home()
        record = stop_server(home)
        return _document(home, None, stopped=record is not None, pid=record.pid if record else None)

    run(as_json, action, lambda d: console.print(
        f"Stopped the local Prefect server (pid {d['pid']})" if d["stopped"]
        else f"No local Prefect server was running for {d['home']}"))
