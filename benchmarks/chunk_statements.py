"""Profile: where a 15,000-row job's chunk transactions spend their time, statement by statement.

Builds a fresh organization and template (SQLite in a temporary folder, or, with
PHONESYS_BENCH_POSTGRES_URL set, a private schema on that PostgreSQL server, dropped after),
starts it, runs ``assign_chunk`` over chunks of --chunk rows, and prints the chunks' wall time,
then the statements by total time (count, seconds, SQL head), then the other steps of the flow
(report, export, counts) timed once.
Usage: python benchmarks/chunk_statements.py [--chunk 5000] [--top 12]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_org import postgres_schema, started_template
from sqlalchemy import Engine, event


def statement_timer(engine: Engine) -> dict[str, list[float]]:
    """Seconds and counts per statement (first 110 characters, whitespace folded)."""
    stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        entry = stats[re.sub(r"\s+", " ", statement)[:110]]
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info["started"]

    return stats


def timed(label: str, work: Callable[[], object]) -> None:
    started = time.perf_counter()
    work()
    print(f"  {label:14s} {time.perf_counter() - started:.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-profile-"))
    os.environ.setdefault("PHONESYS_HOME", str(home))
    postgres = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
    if postgres:
        with postgres_schema(postgres) as url:
            profile(url, home, args.chunk, args.top)
    else:
        profile(f"sqlite:///{home / 'inventory.sqlite3'}", home, args.chunk, args.top)


def profile(url: str, home: Path, chunk: int, top: int) -> None:
    from phonesys.storage.inventory.assignment import assign_chunk
    from phonesys.storage.inventory.engine import open_engine

    engine = open_engine(url)
    template, ids, start_seconds = started_template(engine)
    print(f"{engine.url.get_backend_name()}: start {start_seconds:.2f}s")
    stats = statement_timer(engine)
    started = time.perf_counter()
    for first in range(0, len(ids), chunk):
        assign_chunk(engine, template, ids[first:first + chunk])
    wall = time.perf_counter() - started
    print(f"chunks {wall:.2f}s ({len(ids) / wall:,.0f} rows/s), of which statements "
          f"{sum(s[1] for s in stats.values()):.2f}s")
    for sql, (count, seconds) in sorted(stats.items(), key=lambda item: -item[1][1])[:top]:
        print(f"  {seconds:6.3f}s {int(count):4d}x  {sql}")
    other_steps(engine, template, home)
    engine.dispose()


def other_steps(engine: Engine, template: str, home: Path) -> None:
    """The flow's steps after the chunks, each timed once (no Prefect)."""
    from phonesys.services.exports import export_extensions
    from phonesys.services.reports import write_report
    from phonesys.storage.inventory import jobs
    from phonesys.storage.inventory.engine import read_transaction
    from phonesys.storage.inventory.templates import get_template
    from phonesys.storage.inventory.usage import org_usage
    from phonesys.storage.objects import open_object_store

    with read_transaction(engine) as connection:
        org = str(get_template(connection, template).org_uuid)
    store = open_object_store(str(home / "objects"))
    print("other steps:")
    timed("usage", lambda: org_usage(engine, org))
    timed("report", lambda: write_report(engine, store, org, template, ["Call Recording"]))
    timed("export", lambda: export_extensions(engine, store, org))
    timed("complete", lambda: jobs.complete_job(engine, template, "report", "export"))
    timed("failed rows", lambda: jobs.failed_rows(engine, template))


if __name__ == "__main__":
    main()
