"""Benchmark: one extension's history (``phonesys ext history``) and a filtered ``phonesys audit``
read from a large audit log: the indexes must keep both in milliseconds whatever the log's size.

Fills ``audit_events`` with ``--events`` events spread over ``--extensions`` extensions of one
organization (plus a second organization's noise), then times ``extension_history`` for random keys
and ``org_events`` filtered by extension key and by action. Prints medians and p95 in milliseconds,
on SQLite and, with PHONESYS_BENCH_POSTGRES_URL set, on PostgreSQL (a private schema, dropped after).
Usage: python benchmarks/audit_history.py [--events 1000000] [--extensions 90000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench_org import postgres_schema

ACTIONS = ("ext.provision", "ext.assign-user", "ext.set-number", "ext.set-addons", "ext.edit")
BATCH = 20_000


def fill(engine, org_uuid: str, events: int, extensions: int) -> None:
    """``events`` events on keys 10000.. (one extension id per key), 10% of them for another org."""
    from phonesys.storage.inventory.schema_audit import audit_events

    other = str(uuid.uuid4())
    rng = random.Random(7)
    for start in range(0, events, BATCH):
        rows = []
        for _ in range(min(BATCH, events - start)):
            ext = rng.randrange(extensions)
            org = other if rng.random() < 0.1 else org_uuid
            rows.append({"actor": "cli:bench", "action": rng.choice(ACTIONS), "org_uuid": org,
                         "target_type": "extension", "target": str(10000 + ext),
                         "extension_id": ext + (0 if org == org_uuid else extensions),
                         "after": '{"number": "+6560000000"}'})
        with engine.begin() as connection:
            connection.execute(audit_events.insert(), rows)


def timed(action, samples: int) -> tuple[float, float]:
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        action()
        seconds.append(1000 * (time.perf_counter() - started))
    seconds.sort()
    return statistics.median(seconds), seconds[int(0.95 * (len(seconds) - 1))]


def measure(label: str, url: str, events: int, extensions: int, queries: int) -> None:
    from phonesys.rules.orgfile import OrgDocument
    from phonesys.storage.inventory.audit_queries import AuditFilter, extension_history, org_events
    from phonesys.storage.inventory.engine import open_engine
    from phonesys.storage.inventory.orgs import load_org

    engine = open_engine(url)
    org_uuid = str(uuid.uuid4())
    load_org(engine, OrgDocument(org_uuid=org_uuid, name="Audit bench", base_licenses=1, addons={},
                                 numbers=[], users=[]))
    started = time.perf_counter()
    fill(engine, org_uuid, events, extensions)
    print(f"{label:<10} filled {events:,} events in {time.perf_counter() - started:.1f}s")
    rng = random.Random(11)

    def key() -> str:
        return str(10000 + rng.randrange(extensions))

    for name, action in (
            ("ext history", lambda: extension_history(engine, org_uuid, key())),
            ("audit --ext", lambda: org_events(engine, org_uuid, AuditFilter(ext_key=key()), 50)),
            ("audit --action", lambda: org_events(engine, org_uuid, AuditFilter(actions=("ext.edit",)), 50))):
        median, p95 = timed(action, queries)
        print(f"{label:<10} {name:<15} median {median:6.1f} ms, p95 {p95:6.1f} ms ({queries} queries)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--extensions", type=int, default=90_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-bench-"))
    measure("sqlite", f"sqlite:///{home / 'inventory.sqlite3'}", args.events, args.extensions, args.queries)
    pg = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
    if pg:
        with postgres_schema(pg) as url:
            measure("postgresql", url, args.events, args.extensions, args.queries)


if __name__ == "__main__":
    main()
