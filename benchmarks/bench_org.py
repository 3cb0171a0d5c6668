"""The organization and draft template the bulk benchmarks time: ROWS users, every third row with
a number, one add-on. Shared so that the flow benchmark and the inventory-only one measure the same job.

Each organization of one benchmark process gets its own block of numbers (``index``), so several
runs against one database never collide on a number (numbers are global across organizations).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ROWS = 15_000
_next_index = itertools.count()


def bench_numbers(index: int, count: int) -> list[str]:
    """``count`` Singapore numbers in a block of their own: +65 6 <index, 2 digits> <5 digits>."""
    return [f"+656{index % 100:02d}{i:05d}" for i in range(count)]


def build_draft(engine, rows: int = ROWS) -> str:
    """A fresh organization and a draft template naming all its users; returns the template UUID."""
    import pyarrow as pa

    from phonesys.rules.orgfile import OrgDocument, UserEntry
    from phonesys.storage.inventory.orgs import load_org
    from phonesys.storage.inventory.templates import AcceptedFile, accept_files, create_template

    org = str(uuid.uuid4())
    users = [UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {i:05d}") for i in range(rows)]
    numbers = bench_numbers(next(_next_index), -(-rows // 3))  # one for every third row, the first included
    load_org(engine, OrgDocument(org_uuid=org, name="Bench", base_licenses=rows, addons={"Call Recording": rows},
                                 numbers=numbers, users=users))
    template = create_template(engine, org, "Bench", ["Call Recording"]).uuid
    table = pa.table({"row": list(range(2, rows + 2)), "ext_key": [str(10_000 + i) for i in range(rows)],
                      "identity_uuid": [u.identity_uuid for u in users], "user_name": [u.name for u in users],
                      "number": [numbers[i // 3] if i % 3 == 0 else None for i in range(rows)]})
    accept_files(engine, template, [AcceptedFile("bench.csv", None, "0" * 64, "name", table)])
    return template


def started_template(engine, **start_options) -> tuple[str, list[int], float]:
    """A fresh draft started with ``start_options``: (template UUID, its row ids in order, start seconds)."""
    from sqlalchemy import select

    from phonesys.storage.inventory.jobs import start_job
    from phonesys.storage.inventory.schema import template_rows

    template = build_draft(engine)
    started = time.perf_counter()
    start_job(engine, template, **start_options)
    start_seconds = time.perf_counter() - started
    with engine.connect() as connection:
        ids = list(connection.execute(select(template_rows.c.id).where(template_rows.c.template_uuid == template)
                                      .order_by(template_rows.c.id)).scalars())
    return template, ids, start_seconds


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL using a private schema on the benchmark server, dropped afterwards: runs never meet
    another run's organizations or numbers."""
    from urllib.parse import quote

    import sqlalchemy

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
