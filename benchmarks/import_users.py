"""Benchmark: `org import-users` of 100,000 users (CSV parse + checks + upsert) into a fresh org.

Prints the median of several runs for SQLite (always) and PostgreSQL (when
PHONESYS_BENCH_POSTGRES_URL is set). Usage: python benchmarks/import_users.py [--users N] [--runs N]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from phonesys.rules.orgfile import OrgDocument
from phonesys.rules.usercsv import read_users_csv
from phonesys.storage.inventory.engine import dispose_engines, open_engine
from phonesys.storage.inventory.orgs import delete_org, import_users, load_org


def write_csv(path: Path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Identity UUID", "User's Name"])
        for i in range(count):
            writer.writerow([str(uuid.uuid4()), f"User {i:06d}"])


def one_run(url: str, csv_path: Path) -> tuple[float, float]:
    engine = open_engine(url)
    org_uuid = str(uuid.uuid4())
    load_org(engine, OrgDocument(org_uuid=org_uuid, name="Bench", base_licenses=0))
    started = time.perf_counter()
    entries = read_users_csv(csv_path)
    parsed = time.perf_counter()
    import_users(engine, org_uuid, entries)
    finished = time.perf_counter()
    delete_org(engine, org_uuid)
    return parsed - started, finished - started


def report(label: str, url: str, csv_path: Path, runs: int, users: int) -> None:
    timings = [one_run(url, csv_path) for _ in range(runs)]
    parse = statistics.median(t[0] for t in timings)
    total = statistics.median(t[1] for t in timings)
    print(f"{label:<11} users={users:,} runs={runs} median total={total:.2f}s "
          f"(parse+check {parse:.2f}s) -> {users / total:,.0f} users/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "users.csv"
        write_csv(csv_path, args.users)
        report("sqlite", f"sqlite:///{tmp}/bench.sqlite3", csv_path, args.runs, args.users)
        if os.environ.get("PHONESYS_BENCH_POSTGRES_URL"):
            report("postgresql", os.environ["PHONESYS_BENCH_POSTGRES_URL"], csv_path, args.runs, args.users)
        dispose_engines()


if __name__ == "__main__":
    main()
