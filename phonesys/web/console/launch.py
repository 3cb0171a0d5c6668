"""Assign from the console: the start's checks and holds in this request, the rows in a background process.

``start_job`` runs here, on the token's engine, so a refusal (a shortfall, a user already assigned)
is shown on the page at once and the start is audited as ``token:<name>``. The run itself is
``phonesys template start <uuid> --resume`` in a detached child process acting for the same token
(``PHONESYS_ACTOR``): it hands the run to the served deployment when there is one, else runs the
flow itself, exactly as the CLI would; it outlives the request, and its output goes to
``$PHONESYS_HOME/console_runs/<uuid>.log``. A thread of this process reaps it when it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from sqlalchemy import Engine

from phonesys.ops.prefect_api import PrefectUnavailable, check_configured_api
from phonesys.rules.audit import token_actor
from phonesys.rules.errors import Refused
from phonesys.settings import Settings
from phonesys.storage.inventory.jobs import start_job

RUNS_FOLDER = "console_runs"


def start_in_background(settings: Settings, engine: Engine, template_ref: str, token_name: str) -> str:
    """Start the template (holds taken, or refused with every problem); returns its UUID."""
    try:
        check_configured_api()  # before the holds: a server that does not answer would strand them
    except PrefectUnavailable as exc:
        raise Refused(exc.problem) from None
    plan = start_job(engine, template_ref)
    _spawn(settings, plan.uuid, token_name)
    return plan.uuid


def _spawn(settings: Settings, template_uuid: str, token_name: str) -> None:
    folder = settings.ensure_home() / RUNS_FOLDER
    folder.mkdir(exist_ok=True)
    command = [sys.executable, "-c", "from phonesys.cli import main; main()", "template", "start", template_uuid,
               "--resume", "--json"]
    environment = {**os.environ, "PHONESYS_ACTOR": token_actor(token_name)}
    with (folder / f"{template_uuid}.log").open("ab") as log:
        process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    threading.Thread(target=process.wait, name=f"reap-{template_uuid[:8]}", daemon=True).start()
