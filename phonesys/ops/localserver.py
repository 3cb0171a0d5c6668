"""``make serve``: a local Prefect server, ``phonesys serve`` and ``phonesys web``, for trying the ops
side and the HTTP API on one machine.

The server, ``phonesys serve`` and ``phonesys web`` run in their own process groups, so the terminal's
Ctrl-C reaches only this process: it asks ``phonesys serve`` to stop first (it pauses its schedules,
which needs the server still up), then stops the web API and the server. The server's data (SQLite
database, logs) lives in ``$PHONESYS_HOME/prefect``, so runs and their artifacts are still in the UI
after a restart; the web API's access log is ``$PHONESYS_HOME/web.log``. Tests start their servers
through the same code.

Usage: python -m phonesys.ops.localserver [--host 127.0.0.1] [--port 4200] [--web-port 8080]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonesys.ops.homeserver import ServerRecord

QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


@dataclass
class LocalServer:
    """A ``prefect server start`` child process and where it answers."""

    process: subprocess.Popen[bytes]
    ui_url: str
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def stop(self, timeout: float = 30) -> None:
        stop_child(self.process, signal.SIGTERM, timeout)


def stop_child(process: subprocess.Popen[bytes], how: signal.Signals, timeout: float = 30) -> None:
    """Ask a child to stop with ``how``; kill it if it has not exited within ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def start_server(home: Path, host: str = "127.0.0.1", port: int = 4200) -> LocalServer:
    """Start the server (UI included) with ``PREFECT_HOME=home``; output goes to ``home/server.log``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    # Host and port as settings, not only flags: the UI derives the API address it calls from them.
    env.update(QUIET, PREFECT_HOME=str(home), PREFECT_SERVER_API_HOST=host, PREFECT_SERVER_API_PORT=str(port),
               PREFECT_LOGGING_LEVEL=env.get("PREFECT_LOGGING_LEVEL", "WARNING"))
    log = home / "server.log"
    with log.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", host,
                                    "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return LocalServer(process, f"http://{host}:{port}", log)


def wait_healthy(server: LocalServer, timeout: float = 120) -> None:
    """Block until ``/api/health`` answers; RuntimeError (with the log's end) if it dies or stalls."""
    from phonesys.ops.prefect_api import health_problem

    deadline = time.monotonic() + timeout
    while (problem := health_problem(server.api_url)) is not None:
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = server.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Prefect server at {server.ui_url} did not start ({problem}); "
                               f"end of {server.log}:\n{tail}")
        time.sleep(0.5)


def start_web(home: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    """``phonesys web`` in its own process group (Ctrl-C reaches only the launcher, which stops it),
    its output appended to ``home/web.log``."""
    with (home / "web.log").open("ab") as output:
        return subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", "web", "--host", host,
                                 "--port", str(port)], env={**os.environ, **QUIET}, stdout=output,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0)


def run_serve(api_url: str) -> int:
    """``phonesys serve`` as a child in its own process group: Ctrl-C (or SIGTERM) reaches only this
    process, which passes exactly one SIGINT on and waits for the child's clean exit."""
    env = {**os.environ, **QUIET, "PREFECT_API_URL": api_url, "PREFECT_LOGGING_LEVEL": "INFO"}
    child = subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", "serve"], env=env,
                             process_group=0)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGINT))
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)


def _port_in_use(host: str, port: int, web_port: int) -> str | None:
    """The refusal to print when the Prefect server's or the web API's port is already taken."""
    if port_taken(host, port):
        return (f"error port-in-use: {host}:{port} is taken (a Prefect server already running?); use it with "
                f"`PREFECT_API_URL=http://{host}:{port}/api phonesys serve`, or pick another port: make serve "
                f"PREFECT_PORT={port + 1}")
    if port_taken(host, web_port):
        return (f"error port-in-use: {host}:{web_port} is taken (phonesys web already running?); pick another "
                f"port: make serve WEB_PORT={web_port + 1}")
    return None


def _stop_background_server(home: Path) -> None:
    """The lasting server ``phonesys`` commands start for this home uses the same database
    (``$PHONESYS_HOME/prefect``): stop it, saying so, before this one starts."""
    from phonesys.ops.homeserver import stop

    stopped = stop(home)
    if stopped is not None:
        print(f"Stopped this home's background Prefect server (pid {stopped.pid}): make serve runs its own "
              "on the same data", file=sys.stderr)


def _share(home: Path, server: LocalServer, host: str, port: int) -> ServerRecord | None:
    """While it runs, record this server as the home's (``phonesys.ops.homeserver``): commands
    without PREFECT_API_URL then use it (and hand bulk runs to what it serves) rather than start
    another server on its database. Only a loopback server is recorded: that is where they look."""
    if host != "127.0.0.1":
        return None
    from phonesys.ops.homeserver import adopt

    return adopt(home, server.process.pid, port)


def main(argv: list[str] | None = None) -> int:
    from phonesys.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--web-port", type=int, default=8080, help="Port of `phonesys web` (the HTTP API).")
    args = parser.parse_args(argv)
    # Started in the background (nohup, `&`), SIGINT arrives ignored and children would inherit
    # that; a real handler here is reset to the default in children, so Ctrl-C reaches them again.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    home = load_settings().ensure_home().resolve()
    _stop_background_server(home)
    taken = _port_in_use(args.host, args.port, args.web_port)
    if taken:
        print(taken, file=sys.stderr)
        return 1
    server = start_server(home / "prefect", args.host, args.port)
    web = start_web(home, args.host, args.web_port)
    record: ServerRecord | None = None
    try:
        print(f"Starting the Prefect server (log: {server.log}) ...", file=sys.stderr)
        wait_healthy(server)
        record = _share(home, server, args.host, args.port)
        print(f"Prefect UI: {server.ui_url}   API: {server.api_url}   Ctrl-C stops all", file=sys.stderr)
        print(f"HTTP API: http://{args.host}:{args.web_port}/api/v1   docs: http://{args.host}:{args.web_port}/docs"
              f"   (log: {home / 'web.log'})", file=sys.stderr)
        return run_serve(server.api_url)
    except KeyboardInterrupt:
        return 130
    finally:
        stop_child(web, signal.SIGINT)
        if record is not None:
            from phonesys.ops.homeserver import forget

            forget(home, record)
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
