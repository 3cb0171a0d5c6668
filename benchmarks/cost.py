"""Benchmark: what a bulk job costs in CPU seconds, across every process that works for it.

Wall time on a shared machine says little about how many workers a load needs; CPU does. Each run is
``phonesys template start T --wait`` as a new process on the embedded default (the home's lasting
local Prefect server, which the untimed warm-up starts), and its cost is the CPU (user + system)
that run used in:

- the CLI process and everything it waited for (``getrusage(RUSAGE_CHILDREN)`` around it): the flow
  runs in it, exactly as it would in a worker's flow-run process;
- the Prefect server's process tree (``/proc/<pid>/stat`` of the pid in ``server.json`` and its live
  descendants, before and after): API calls, events, logs, plus its own background loops meanwhile;
- with ``--db postgres``, the PostgreSQL backends serving the CLI's connections: found by matching
  the CLI tree's TCP ports to the backends' ``postgres: ... 127.0.0.1(<port>)`` titles and sampled
  every 20 ms while the run lasts (the cluster is shared with other work, so its total is not ours;
  up to one sample interval of a backend's last work can be missed).

Prints, per database, the medians of ``--runs`` runs for a 15,000-row job (also per 1,000 rows) and
for a small 10-row job. The rows are loaded (an organization, a draft with accepted rows) before each
clock starts; that set-up is not measured.

Usage: python benchmarks/cost.py [--db sqlite postgres] [--runs 5] [--rows 15000] [--small 10]
PostgreSQL: PHONESYS_BENCH_POSTGRES_URL, else the URL ``bash .ci/postgres.sh`` prints (a fresh schema,
dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_org import build_draft, postgres_schema  # noqa: E402

PHONESYS = [sys.executable, "-c", "from phonesys.cli import main; main()"]
TICK = os.sysconf("SC_CLK_TCK")
POSTGRES_PORT = 5432


@dataclass(frozen=True)
class Cost:
    """CPU seconds of one run, per process group, and its wall seconds."""

    cli: float
    server: float
    database: float
    wall: float

    @property
    def total(self) -> float:
        return self.cli + self.server + self.database


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / TICK  # utime stime cutime cstime


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants (dead ones are in their parent's cutime)."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))):
            parents[int(entry.name)], seconds[int(entry.name)] = found
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(seconds.get(pid, 0.0) for pid in tree)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class BackendSampler:
    """The CPU of the PostgreSQL backends serving one process tree's connections, sampled while it runs."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.latest: dict[int, float] = {}  # backend pid -> its CPU seconds when last seen (born for this run)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> BackendSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.latest.values())

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in _backends(_client_ports(_tree_pids(self.root))):
                found = _stat(pid)
                if found:
                    self.latest[pid] = found[1]
            self._stop.wait(0.02)


def _tree_pids(root: int) -> set[int]:
    pids = {root}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in pids:
                    pids.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _client_ports(pids: set[int]) -> set[int]:
    """Local ports of the TCP connections to PostgreSQL that sockets of ``pids`` hold."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == POSTGRES_PORT:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _backends(ports: set[int]) -> list[int]:
    """Backend pids whose process title names one of the client ``ports``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and ports:
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and any(f"({port})" in title for port in ports):
                found.append(int(entry.name))
    return found


class Home:
    """A temporary PHONESYS_HOME on the embedded default, its inventory on ``database_url`` (or SQLite)."""

    def __init__(self, path: Path, database_url: str | None) -> None:
        from phonesys.storage.inventory.engine import open_engine

        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PHONESYS_", "PREFECT_"))}
        self.env.update(PHONESYS_HOME=str(path), PREFECT_HOME=str(path / "prefect-home"))
        if database_url:
            self.env["PHONESYS_DATABASE_URL"] = database_url
        self.engine = open_engine(database_url or f"sqlite:///{path / 'inventory.sqlite3'}")

    def server_pid(self) -> int:
        return int(json.loads((self.path / "prefect" / "server.json").read_text())["pid"])

    def start(self, rows: int, postgres: bool) -> Cost:
        """Build a ``rows``-row draft (not measured), then measure ``template start --wait`` of it."""
        template = build_draft(self.engine, rows)
        server, cli_before = self.server_pid(), _children_cpu()
        server_before = tree_cpu(server)
        started = time.perf_counter()
        process = subprocess.Popen([*PHONESYS, "template", "start", template, "--wait"], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        with BackendSampler(process.pid) if postgres else nullcontext() as sampler:
            output = process.communicate()[0]
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"template start exited {process.returncode}:\n{output.decode(errors='replace')}")
        return Cost(_children_cpu() - cli_before, tree_cpu(server) - server_before,
                    sampler.seconds if sampler else 0.0, wall)

    def warm_up(self, postgres: bool) -> None:
        """Start the home's lasting server (as the first command that runs a flow would) and run one
        small job, neither measured: the figures are for the commands after it."""
        subprocess.run([*PHONESYS, "server", "start"], env=self.env, capture_output=True, check=True)
        self.start(2, postgres)


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """None for SQLite (the home's file); a fresh PostgreSQL schema's URL for postgres."""
    if kind == "sqlite":
        yield None
        return
    url = os.environ.get("PHONESYS_BENCH_POSTGRES_URL") or subprocess.run(
        ["bash", str(ROOT / ".ci" / "postgres.sh")], capture_output=True, text=True, check=True).stdout.strip()
    with postgres_schema(url) as schema_url:
        yield schema_url


def measure(kind: str, runs: int, sizes: tuple[int, int]) -> dict[int, list[Cost]]:
    """``runs`` costs per job size, in one fresh home (its server stopped afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="phonesys-cost-"))
    try:
        with database(kind) as url:
            home = Home(path, url)
            home.warm_up(kind == "postgres")
            costs: dict[int, list[Cost]] = {size: [] for size in sizes}
            for _ in range(runs):
                for size in sizes:
                    costs[size].append(home.start(size, kind == "postgres"))
            home.engine.dispose()
            return costs
    finally:
        subprocess.run([*PHONESYS, "server", "stop"], env={**os.environ, "PHONESYS_HOME": str(path)},
                       capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


def table(results: dict[str, dict[int, list[Cost]]]) -> list[str]:
    """Median CPU seconds per process group, per job and per 1,000 rows, one line per database and size."""
    lines = ["| database | job | CLI/flow CPU s | Prefect server CPU s | PostgreSQL CPU s | total CPU s "
             "| per 1,000 rows | wall s |", "|---|---|---|---|---|---|---|---|"]
    for kind, costs in results.items():
        for size, runs in costs.items():
            median = {name: statistics.median(getattr(c, name) for c in runs)
                      for name in ("cli", "server", "database", "total", "wall")}
            database_cpu = f"{median['database']:.2f}" if kind == "postgres" else "-"
            per_thousand = f"{median['total'] * 1000 / size:.2f}" if size >= 1000 else "-"
            lines.append(f"| {kind} | {size:,} rows | {median['cli']:.2f} | {median['server']:.2f} | {database_cpu} "
                         f"| {median['total']:.2f} | {per_thousand} | {median['wall']:.2f} |")
    return lines + [marginal(kind, costs) for kind, costs in results.items() if len(costs) == 2]


def marginal(kind: str, costs: dict[int, list[Cost]]) -> str:
    """Sizing: a job costs a fixed part (the small job) plus a part per row (the difference)."""
    (large, large_runs), (small, small_runs) = sorted(costs.items(), reverse=True)
    fixed = statistics.median(c.total for c in small_runs)
    per_row = (statistics.median(c.total for c in large_runs) - fixed) / (large - small)
    return f"{kind}: a job costs about {fixed:.2f} CPU s plus {per_row * 1000:.2f} CPU s per 1,000 rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--small", type=int, default=10)
    args = parser.parse_args()
    results = {kind: measure(kind, args.runs, (args.rows, args.small)) for kind in args.db}
    print(f"medians of {args.runs} runs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
