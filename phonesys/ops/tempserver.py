"""Prefect's temporary server for a run without PREFECT_API_URL: one per process, gone with it.

With no PREFECT_API_URL, Prefect starts a temporary API server (uvicorn in a child process) the
first time something needs the API, and stops it at exit. As Prefect starts it, two things go wrong:

- a process killed outright (SIGKILL, the OOM killer) never reaches its exit handlers, so the server
  lives on, an orphan holding a port and the database;
- processes sharing a PREFECT_HOME share its SQLite database: servers starting together race on its
  migrations and locks, and print ERROR tracebacks even when every run succeeds.

``use_temporary_server`` registers, before Prefect starts one, a server of Prefect's own class and
environment (so every Prefect client in the process finds it) whose process is
``phonesys.ops.tempserver_process``: it stops as soon as its parent is gone, and it runs on the
first database of PREFECT_HOME (``prefect.db``, then ``prefect-2.db`` ...) that no other running
temporary server of phonesys holds. It relies on two details of Prefect 3.9's
``SubprocessASGIServer`` (one shared instance per port, started through ``_run_uvicorn_command``);
tests/test_temporary_server.py fails if they change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from prefect.server.api.server import SubprocessASGIServer

SERVER_PROCESS = "phonesys.ops.tempserver_process"


class TemporaryServer(SubprocessASGIServer):
    """Prefect's temporary server, run by ``tempserver_process`` on behalf of this process."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        """Prefect's own command and environment, but a process that watches this one."""
        from prefect.settings import PREFECT_HOME, get_current_settings

        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", **get_current_settings().to_environment_variables(exclude_unset=True)}
        return subprocess.Popen([sys.executable, "-m", SERVER_PROCESS, str(os.getpid()), str(self.port),
                                 str(PREFECT_HOME.value())], env=env)


def use_temporary_server() -> None:
    """Make the temporary server Prefect is about to start (if it needs one) a ``TemporaryServer``.

    Call it before the first flow run of a process without PREFECT_API_URL (with it there is no
    temporary server). A server already started stays as it is."""
    TemporaryServer()  # registers itself as the one instance every Prefect client asks for
