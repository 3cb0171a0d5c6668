"""Benchmark: the inventory side of a 15,000-row bulk job without Prefect, so its own cost shows.

Times ``start_job`` (preflight, and since holds the reservation of every row) and the chunk
transactions (``assign_chunk`` over 500-row chunks, in order, as the flow's tasks call them) for a
fresh organization and template per run. Prints medians of start seconds and assignment rows/s,
on SQLite and, with PHONESYS_BENCH_POSTGRES_URL set, on PostgreSQL (a private schema, dropped after).
Usage: python benchmarks/assign_chunks.py [--runs 5] [--chunk 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

ROWS = 15_000


def build_draft(engine) -> str:
    """An org of ROWS users (a number on every third row) and a draft template naming all of them."""
    import pyarrow as pa

    from phonesys.orgfile import OrgDocument, UserEntry
    from storage.inventory.orgs import load_org
    from storage.inventory.templates import AcceptedFile, accept_files, create_template

    org = str(uuid.uuid4())
    users = [UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {i:05d}") for i in range(ROWS)]
    numbers = sorted({f"+65{6100_0000 + i + int(org[:4], 16) * 10:08d}"[:11] for i in range(ROWS // 3)})
    load_org(engine, OrgDocument(org_uuid=org, name="Bench", base_licenses=ROWS, addons={"Call Recording": ROWS},
                                 numbers=numbers, users=users))
    template = create_template(engine, org, "Bench", ["Call Recording"])["uuid"]
    rows = pa.table({"row": list(range(2, ROWS + 2)), "ext_key": [str(10_000 + i) for i in range(ROWS)],
                     "identity_uuid": [u.identity_uuid for u in users], "user_name": [u.name for u in users],
                     "number": [numbers[i // 3] if i % 3 == 0 and i // 3 < len(numbers) else None
                                for i in range(ROWS)]})
    accept_files(engine, template, [AcceptedFile("bench.csv", None, "0" * 64, "name", rows)])
    return template


def one_run(engine, chunk: int) -> tuple[float, float]:
    """(start seconds, assignment rows/s) for one fresh template."""
    from sqlalchemy import select

    from storage.inventory.assignment import assign_chunk
    from storage.inventory.jobs import start_job
    from storage.inventory.schema import template_rows

    template = build_draft(engine)
    started = time.perf_counter()
    start_job(engine, template, chunk_size=chunk)
    start_seconds = time.perf_counter() - started
    with engine.connect() as connection:
        ids = connection.execute(select(template_rows.c.id).where(template_rows.c.template_uuid == template)
                                 .order_by(template_rows.c.id)).scalars().all()
    started = time.perf_counter()
    assigned = sum(assign_chunk(engine, template, ids[i:i + chunk]).assigned for i in range(0, len(ids), chunk))
    seconds = time.perf_counter() - started
    assert assigned == ROWS, assigned
    return start_seconds, ROWS / seconds


def measure(label: str, url: str, runs: int, chunk: int) -> None:
    from storage.inventory.engine import open_engine

    engine = open_engine(url)
    results = [one_run(engine, chunk) for _ in range(runs)]
    engine.dispose()
    print(f"{label:<10} start median {statistics.median(r[0] for r in results):.2f}s; "
          f"assignment median {statistics.median(r[1] for r in results):,.0f} rows/s (runs={runs}, chunk={chunk})")


def postgres_schema(base_url: str):
    """A private schema on the benchmark server and the URL that uses it."""
    from urllib.parse import quote

    import sqlalchemy

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base_url else "?"
    return admin, schema, f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-bench-"))
    measure("sqlite", f"sqlite:///{home / 'inventory.sqlite3'}", args.runs, args.chunk)
    pg = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
    if pg:
        admin, schema, url = postgres_schema(pg)
        try:
            measure("postgresql", url, args.runs, args.chunk)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
