"""The temporary Prefect server's process: ``python -m phonesys.ops.tempserver_process PARENT PORT HOME``.

Started by ``phonesys.ops.tempserver`` for a process that runs flows without PREFECT_API_URL. It
serves Prefect's API app as Prefect's own temporary server does, with two differences:

- it stops when PARENT is gone, however PARENT ended (SIGKILL included): a thread watches for this
  process being handed to another parent, then asks the server to shut down (SIGTERM);
- unless a database is configured, it uses the first of HOME/prefect.db, HOME/prefect-2.db, ...
  that no other such server holds (an exclusive lock on ``<database>.phonesys-lock``, held until
  this process ends, whatever ends it), so processes sharing PREFECT_HOME never share a database
  and the usual single run keeps Prefect's default one;
- what the server itself prints goes to a log file beside its database (``prefect.db.server.log``),
  not to the command's terminal: under load Prefect's services log transient ERRORs they retry on
  their own ("database is locked", "Error flushing 1 events (1 to retry, 0 dropped)"), which would
  read as failures of a command that succeeded. The file keeps them for whoever needs them.

Nothing here imports Prefect before the database is chosen: its settings are read at import.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path

WATCH_INTERVAL = 0.5  # seconds between looks at the parent
LOG_LIMIT = 5 * 1024 * 1024  # bytes a server log may reach before the next server starts it afresh
SHUTDOWN_GRACE = 15.0  # seconds the server gets to stop after SIGTERM before the process just exits
DATABASE_SETTINGS = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
                     "PREFECT_SERVER_DATABASE_DRIVER", "PREFECT_API_DATABASE_DRIVER")
_locks: list[int] = []  # open lock files: closing one would release its database


def watch_parent(parent: int) -> None:
    """Stop this process once ``parent`` has ended (the kernel then gives it another parent)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_INTERVAL)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
        time.sleep(SHUTDOWN_GRACE)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def claim_database(home: Path) -> Path:
    """The first database file of ``home`` no other temporary server holds, now held by this process."""
    home.mkdir(parents=True, exist_ok=True)
    for number in range(1, 1000):
        database = home / ("prefect.db" if number == 1 else f"prefect-{number}.db")
        lock = os.open(f"{database}.phonesys-lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        _locks.append(lock)
        return database
    raise RuntimeError(f"no free temporary Prefect database in {home}")


def log_to_file(path: Path) -> None:
    """Send this process's stdout and stderr (Prefect's and uvicorn's logs alike) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists() or path.stat().st_size > LOG_LIMIT
    log = os.open(path, os.O_CREAT | os.O_WRONLY | (os.O_TRUNC if fresh else os.O_APPEND), 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def main(argv: list[str]) -> None:
    parent, port, home = int(argv[0]), int(argv[1]), Path(argv[2])
    watch_parent(parent)
    if any(os.environ.get(name) for name in DATABASE_SETTINGS):
        log_to_file(home / "server.log")
    else:
        database = claim_database(home)
        log_to_file(database.with_name(f"{database.name}.server.log"))
        os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{database}"
    import uvicorn

    uvicorn.run("prefect.server.api.server:create_app", factory=True, host="127.0.0.1", port=port,
                log_level="error", lifespan="on")  # exits 3 when the port is taken: Prefect then picks another


if __name__ == "__main__":
    main(sys.argv[1:])
