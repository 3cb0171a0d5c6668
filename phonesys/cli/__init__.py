"""The ``phonesys`` command line: a thin shell over ``storage`` and the flows.

Conventions every command follows: ORG is the organization UUID; ``--json`` prints machine output;
a refused request exits 1, prints one line per problem and changes nothing.
"""

from __future__ import annotations

import gc

# A command's imports (typer, SQLAlchemy, and Prefect when it runs a flow) leave about 190,000
# objects for the cycle collector to track, nearly all of them for the life of the process; at
# CPython's default thresholds (700, 10, 10) it runs about 400 collections while they load, rescanning
# them. Larger thresholds, as mypy sets for the same reason, cut about 0.2 s of Prefect's import;
# collection still runs, less often.
gc.set_threshold(200_000, 30, 30)

import typer  # noqa: E402 - after the collector is set: typer is the first large import

from phonesys.cli import (  # noqa: E402, F401 - registers commands
    alerts,
    audit,
    db,
    dropfolder,
    export,
    ext,
    ops,
    org,
    server,
    template,
    template_revert,
    template_run,
    token,
    web,
)
from phonesys.cli.demo import demo  # noqa: E402
from phonesys.cli.s3_events import notify_from_sqs  # noqa: E402
from phonesys.cli.sample import sample_csv  # noqa: E402

app = typer.Typer(
    name="phonesys",
    help="Bulk license and extension provisioning for cloud phone systems.\n\n"
         "Data lives in PHONESYS_HOME (default ~/.local/share/phonesys); set PHONESYS_DATABASE_URL "
         "to use PostgreSQL instead of the embedded SQLite file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(org.app, name="org")
app.add_typer(ext.app, name="ext")
app.add_typer(db.app, name="db")
app.add_typer(export.app, name="export")
app.add_typer(template.app, name="template")
app.add_typer(dropfolder.app, name="dropfolder")
app.add_typer(alerts.app, name="alerts")
app.add_typer(token.app, name="token")
app.add_typer(server.app, name="server")
app.command("provision")(ext.provision)
app.command("audit")(audit.audit)
ext.app.command("history")(audit.history)
app.command("demo")(demo)
app.command("sample-csv")(sample_csv)
app.command("serve")(ops.serve)
app.command("web")(web.web)
app.command("notify")(ops.notify)
app.command("notify-from-sqs")(notify_from_sqs)


def main() -> None:
    """Entry point; an unexpected error prints one line unless PHONESYS_DEBUG=1 asks for the traceback."""
    import os
    import sys

    from phonesys.ops.prefect_env import quiet_prefect
    from phonesys.settings import SettingsInvalid

    quiet_prefect()  # before anything imports prefect: its log level is read once, at import
    try:
        app()
    except SettingsInvalid as invalid:
        from phonesys.cli.common import print_settings_invalid

        print_settings_invalid(invalid, as_json="--json" in sys.argv)
        sys.exit(78)
    except Exception as exc:  # noqa: BLE001 - last resort, keeps a newcomer's screen clean
        if os.environ.get("PHONESYS_DEBUG") == "1":
            raise
        sys.stderr.write(f"error internal-error: {type(exc).__name__}: {exc} "
                         "(set PHONESYS_DEBUG=1 to see the traceback)\n")
        sys.exit(70)
