"""The lasting local Prefect server of a PHONESYS_HOME: started once, in the background, then reused.

Without PREFECT_API_URL every command that ran a flow used to start a temporary Prefect server and
throw it away: 5-8 s of each small job, and the runs vanished from the UI with it. Now the first
such command starts ``prefect server start`` (``phonesys.ops.localserver``'s code) detached, in its
own session, with its data and ``server.log`` in ``$PHONESYS_HOME/prefect``, and records where it
answers in ``server.json`` there (pid, port, home); later commands find it there and reuse it.
``phonesys server status|stop`` read the same record.

Every decision is taken holding ``server.lock`` (an exclusive ``flock``, released by the kernel
whatever ends the holder), so two commands racing start one server: the second waits for the first
and then finds its record. A record is believed only while its pid is alive, is a Prefect server
(its command line says so: pids are reused) keeping its data here, and the home it names is this
one; a record copied with the directory from another home, or naming a dead server (``kill -9``,
a reboot), is replaced by a new server. A server that is alive but stopped answering is stopped
before a new one starts. The record is written as soon as the process exists, so a command killed
while its server starts leaves a record, not an unknown orphan.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from phonesys.ops.localserver import free_port, port_taken, start_server, wait_healthy
from phonesys.ops.prefect_api import health_problem

HOST = "127.0.0.1"
STOP_GRACE = 30.0  # seconds a stopping server gets before SIGKILL
_started: list[subprocess.Popen[bytes]] = []  # kept referenced: the server outlives this process
_in_use: list[str] = []  # the API URL of the home server this process's Prefect client points at


@dataclass(frozen=True)
class ServerRecord:
    """What ``server.json`` says: which process serves this home's Prefect API, and where."""

    pid: int
    port: int
    home: str
    started_at: str

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"


def server_dir(home: Path) -> Path:
    """Where the server keeps its database, its log, its record and its lock."""
    return home / "prefect"


def read_record(home: Path) -> ServerRecord | None:
    """The record as written, or None when there is none or it is unreadable."""
    try:
        document = json.loads((server_dir(home) / "server.json").read_text(encoding="utf-8"))
        return ServerRecord(int(document["pid"]), int(document["port"]), str(document["home"]),
                            str(document["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_record(home: Path, record: ServerRecord) -> None:
    path = server_dir(home) / "server.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(record)), encoding="utf-8")
    temporary.replace(path)  # atomic: a reader sees the old record or the new one


def _forget(home: Path, record: ServerRecord) -> None:
    """Remove the record if it still names ``record``'s process."""
    if read_record(home) == record:
        (server_dir(home) / "server.json").unlink(missing_ok=True)


def is_prefect_server(pid: int) -> bool:
    """``pid`` is a live (not zombie) process whose command line is ``... prefect server start ...``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and b"prefect" in command and b"server" in command and b"start" in command


def serves_home(pid: int, home: Path) -> bool:
    """``pid`` keeps its data in this home (its PREFECT_HOME): a pid reused by another home's server
    is not ours to reuse or stop."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"PREFECT_HOME={server_dir(home)}".encode() in environ


def running(home: Path) -> ServerRecord | None:
    """This home's recorded server while its process lives (answering or not); None otherwise."""
    record = read_record(home)
    if record is None or record.home != str(home) or not is_prefect_server(record.pid):
        return None
    return record if serves_home(record.pid, home) else None


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold this home's server lock: one command at a time decides whether to start or stop it."""
    server_dir(home).mkdir(parents=True, exist_ok=True)
    descriptor = os.open(server_dir(home) / "server.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def ensure(home: Path) -> tuple[ServerRecord, bool]:
    """This home's server, answering: the running one, or a new one. Returns (record, started now)."""
    with _locked(home):
        record = running(home)
        if record is not None and health_problem(record.api_url) is None:
            return record, False
        if record is not None:  # alive but not answering: stuck, replace it
            _terminate(record)
            _forget(home, record)
        return _start(home), True


def _start(home: Path) -> ServerRecord:
    previous = read_record(home)
    port = previous.port if previous and not port_taken(HOST, previous.port) else free_port(HOST)
    server = start_server(server_dir(home), HOST, port)
    _started.append(server.process)
    record = ServerRecord(server.process.pid, port, str(home), datetime.now(UTC).isoformat(timespec="seconds"))
    _write_record(home, record)
    try:
        wait_healthy(server)
    except BaseException:  # did not start, or the user gave up (Ctrl-C): leave nothing behind
        server.stop()
        _forget(home, record)
        raise
    return record


def adopt(home: Path, pid: int, port: int) -> ServerRecord:
    """Record a server started elsewhere for this home (``make serve``'s, on the same data), so
    commands reuse it instead of starting a second server on its database."""
    record = ServerRecord(pid, port, str(home), datetime.now(UTC).isoformat(timespec="seconds"))
    with _locked(home):
        _write_record(home, record)
    return record


def forget(home: Path, record: ServerRecord) -> None:
    """Remove ``record`` (if it is still the one written): its server is stopping."""
    with _locked(home):
        _forget(home, record)


def stop(home: Path) -> ServerRecord | None:
    """Stop this home's server; the record of the one stopped, or None when none was running."""
    with _locked(home):
        record = running(home)
        if record is not None:
            _terminate(record)
        (server_dir(home) / "server.json").unlink(missing_ok=True)  # stale or not, it names no server now
        return record


def _terminate(record: ServerRecord) -> None:
    """SIGTERM the server's process group (its own session), SIGKILL it if it outstays the grace."""
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while is_prefect_server(record.pid) and time.monotonic() < deadline:
        _reap(record.pid)
        time.sleep(0.1)
    if is_prefect_server(record.pid):
        _signal_group(record.pid, signal.SIGKILL)
    _reap(record.pid)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)  # started with start_new_session: its group id is its pid
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect the exit status when the server is this process's own child (no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def ensure_home_server(home: Path) -> str:
    """The API URL of the home's lasting server, started if needed, saying so when it was: the user
    did not ask for a process that outlives the command."""
    record, started = ensure(home)
    if started:
        sys.stderr.write(f"note: started a local Prefect server for {home} in the background "
                         f"(UI {record.ui_url}, pid {record.pid}, log {server_dir(home) / 'server.log'}); "
                         "later commands reuse it; `phonesys server stop` stops it\n")
    return record.api_url


def use_home_server(home: Path) -> str:
    """Point this process's Prefect client at the home's lasting server (``ensure_home_server``)."""
    api_url = ensure_home_server(home)
    os.environ["PREFECT_API_URL"] = api_url
    _in_use[:] = [api_url]
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # Prefect read its settings at import; make it see the URL
    return api_url


def home_server_in_use() -> bool:
    """This process runs its flows on its home's local server (``use_home_server``), not on a
    server someone named with PREFECT_API_URL."""
    return bool(_in_use) and os.environ.get("PREFECT_API_URL") == _in_use[0]


def names_home_server(api_url: str | None, home: Path) -> bool:
    """``api_url`` is the server this home's record names: a run that ``phonesys serve`` started
    against the home's local server (or ``make serve``'s) uses it without having started it."""
    record = read_record(home)
    return api_url is not None and record is not None and api_url.rstrip("/") == record.api_url
