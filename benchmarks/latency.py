"""Benchmark: what a person waits for at the CLI, on the embedded default (issue 22's table).

Each row runs a ``phonesys`` command as a fresh process, as a user at a terminal would, in a fresh
temporary PHONESYS_HOME (SQLite inventory, local object folder, no PREFECT_API_URL) whose
organization is set up with the CLI itself (``org load``), and prints the median wall seconds of
``--repeats`` runs (after ``--warmup`` untimed ones: the first command that needs Prefect may start
a server, and the issue's targets are for the commands after it). What each timed command needs
(a draft template with its 2- or 10-row CSV) is prepared before its clock starts.

``--imports`` also prints, per read command, the cumulative ``python -X importtime`` of the
top-level packages it loads (the slowest first) and whether prefect, duckdb, pyarrow or boto3 are among them.

Usage: python benchmarks/latency.py [--repeats 5] [--warmup 1] [--rows help,read,upload,start,scan]
       [--imports] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ORG = "0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01"
USERS = 400  # enough for every repeat's rows without reusing a user
PHONESYS = [sys.executable, "-c", "from phonesys.cli import main; main()"]
HEAVY = ("prefect", "duckdb", "pyarrow", "boto3")
ROWS = ("help", "read", "upload", "start", "scan")


class Cli:
    """``phonesys`` commands in one temporary home, each a new process; numbers users as they go."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("PHONESYS_", "PREFECT_API_URL"))}
        # PREFECT_HOME too, so the run touches nothing of the user's own Prefect profile
        self.env.update(PHONESYS_HOME=str(home), PREFECT_HOME=str(home / "prefect-home"))
        self.next_user = 0
        self.next_key = 1000

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([*PHONESYS, *args], env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise SystemExit(f"phonesys {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def timed(self, *args: str) -> float:
        started = time.perf_counter()
        self(*args)
        return time.perf_counter() - started

    def set_up_org(self) -> None:
        users = [{"identity_uuid": str(uuid.UUID(int=i + 1)), "name": f"User {i:04d}"} for i in range(USERS)]
        document = {"org_uuid": ORG, "name": "Latency", "base_licenses": USERS, "addons": {"Call Recording": USERS},
                    "numbers": [], "users": users}
        path = self.home / "org.json"
        path.write_text(json.dumps(document))
        self("org", "load", str(path))

    def draft(self, rows: int) -> tuple[str, Path]:
        """A new draft template and a CSV of ``rows`` users nobody used yet (not uploaded)."""
        template = self("template", "create", ORG, "--name", f"Latency {uuid.uuid4().hex[:8]}").strip()
        lines = ["Ext Key,User's Name"]
        for _ in range(rows):
            lines.append(f"{self.next_key},User {self.next_user:04d}")
            self.next_key += 1
            self.next_user += 1
        csv = self.home / f"{template}.csv"
        csv.write_text("\r\n".join(lines) + "\r\n")
        return template, csv


def measure(prepare: Callable[[], tuple[str, ...]], cli: Cli, repeats: int, warmup: int) -> float:
    """Median wall seconds of ``repeats`` runs of the command ``prepare`` returns (each prepared afresh)."""
    times = []
    for attempt in range(warmup + repeats):
        seconds = cli.timed(*prepare())
        if attempt >= warmup:
            times.append(seconds)
    return statistics.median(times)


def uploaded(cli: Cli, rows: int) -> str:
    template, csv = cli.draft(rows)
    cli("template", "upload", template, str(csv))
    return template


def table_rows(cli: Cli) -> dict[str, list[tuple[str, Callable[[], tuple[str, ...]]]]]:
    """Per row group, (label, a function preparing one run and returning its arguments)."""

    def upload() -> tuple[str, ...]:
        template, csv = cli.draft(2)
        return ("template", "upload", template, str(csv))

    return {
        "help": [("phonesys --help", lambda: ("--help",))],
        "read": [("org show", lambda: ("org", "show", ORG)), ("ext list", lambda: ("ext", "list", ORG))],
        "upload": [("template upload (2 rows)", upload)],
        "start": [("template start T --wait (10 rows)", lambda: ("template", "start", uploaded(cli, 10), "--wait"))],
        "scan": [("dropfolder scan --wait, nothing to do", lambda: ("dropfolder", "scan", "--wait"))],
    }


def import_profile(cli: Cli, args: tuple[str, ...], top: int = 8) -> str:
    """The packages a command imports that cost the most (cumulative seconds of each package's own
    import, its dependencies included, from ``python -X importtime``), and which heavy ones it loads."""
    done = subprocess.run([sys.executable, "-X", "importtime", *PHONESYS[1:], *args], env=cli.env,
                          capture_output=True, text=True)
    cumulative: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].strip()
            if "." not in name and not name.startswith("_"):  # a package, not one of its modules
                cumulative[name] = max(cumulative.get(name, 0), int(parts[1]))
    heavy = [name for name in HEAVY if name in cumulative]
    slowest = sorted(cumulative.items(), key=lambda item: -item[1])[:top]
    listed = ", ".join(f"{name} {micros / 1e6:.2f}" for name, micros in slowest)
    return f"`{' '.join(args[:2])}` imports (s): {listed}; heavy: {', '.join(heavy) or 'none'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    parser.add_argument("--imports", action="store_true", help="also profile the read commands' imports")
    parser.add_argument("--keep", action="store_true", help="keep the temporary PHONESYS_HOME (and any server)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-latency-"))
    cli = Cli(home)
    try:
        cli.set_up_org()
        groups = table_rows(cli)
        print(f"| action | median of {args.repeats} (s) |\n|---|---|")
        for group in args.rows.split(","):
            for label, prepare in groups[group]:
                print(f"| `{label}` | {measure(prepare, cli, args.repeats, args.warmup):.2f} |", flush=True)
        if args.imports:
            for command in (("org", "show", ORG), ("ext", "list", ORG), ("--help",)):
                print(import_profile(cli, command))
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            stop_local_server(cli)
            shutil.rmtree(home, ignore_errors=True)


def stop_local_server(cli: Cli) -> None:
    """Stop the home's local Prefect server, if this phonesys has one (``phonesys server stop``)."""
    cli("server", "stop", check=False)


if __name__ == "__main__":
    main()
