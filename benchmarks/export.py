"""Benchmark: the provisioned-extension export at scale, median time and peak memory.

Ext keys are 3-5 digits, so one organization holds at most ~100,000 extensions; a million
extensions means ten full organizations. The benchmark builds that inventory once (SQLite, or
PHONESYS_BENCH_DATABASE_URL), then times in fresh subprocesses (so peak RSS is per export):
  - one full organization (99,900 rows), and
  - every organization, as the nightly export flow does (999,000 rows in ten files).
Usage: python benchmarks/export.py [--orgs 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.storage.inventory.engine import open_engine, write_transaction
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.schema import addon_pools, extension_addons, extensions

PER_ORG = 99_900


def build_org(engine, index: int) -> str:
    org_uuid = str(uuid.uuid4())
    users = [UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {index}-{i:05d}") for i in range(PER_ORG)]
    numbers = [f"+65{6 + index % 3}{index:02d}{i:05d}" for i in range(PER_ORG // 2)]
    load_org(engine, OrgDocument(org_uuid=org_uuid, name=f"Bench {index}", base_licenses=PER_ORG,
                                 addons={"Call Recording": PER_ORG}, numbers=numbers, users=users))
    keys = provision(engine, org_uuid, PER_ORG, "100")
    with write_transaction(engine) as connection:  # bulk assignment stand-in for the set-up only
        connection.execute(extensions.update().where(extensions.c.org_uuid == org_uuid,
                                                     extensions.c.ext_key == _bind("k"))
                           .values(identity_uuid=_bind("u"), number=_bind("n")),
                           [{"k": k, "u": u.identity_uuid, "n": numbers[i] if i < len(numbers) else None}
                            for i, (k, u) in enumerate(zip(keys, users))])
        ids = connection.execute(extensions.select().with_only_columns(extensions.c.id)
                                 .where(extensions.c.org_uuid == org_uuid)).scalars().all()
        connection.execute(extension_addons.insert(), [{"extension_id": i, "org_uuid": org_uuid,
                                                        "sku": "Call Recording"} for i in ids[::3]])
        connection.execute(addon_pools.update().where(addon_pools.c.org_uuid == org_uuid)
                           .values(used=len(ids[::3])))
    return org_uuid


def _bind(name: str):
    from sqlalchemy import bindparam

    return bindparam(name)


CHILD = """
import sys, time, resource
from phonesys.services.exports import export_extensions
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.objects import open_object_store
engine, store = open_engine(sys.argv[1]), open_object_store(sys.argv[2])
started = time.perf_counter()
rows = sum(export_extensions(engine, store, org).rows for org in sys.argv[3:])
print(time.perf_counter() - started, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def timed_export(database_url: str, storage_url: str, orgs: list[str]) -> tuple[float, int, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, database_url, storage_url, *orgs],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]) / 1024


def report(label: str, samples: list[tuple[float, int, float]]) -> None:
    seconds = statistics.median(s[0] for s in samples)
    peak = max(s[2] for s in samples)
    rows = samples[0][1]
    print(f"{label:<22} rows={rows:>9,} median={seconds:6.2f}s  {rows / seconds:>10,.0f} rows/s  "
          f"peak RSS={peak:,.0f} MiB  (runs={len(samples)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("PHONESYS_BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
        storage_url = f"file://{tmp}/objects"
        engine = open_engine(database_url)
        started = time.perf_counter()
        orgs = [build_org(engine, i) for i in range(args.orgs)]
        print(f"set-up: {args.orgs} orgs x {PER_ORG:,} extensions in {time.perf_counter() - started:.0f}s "
              f"({engine.url.get_backend_name()})")
        report("one organization", [timed_export(database_url, storage_url, orgs[:1]) for _ in range(args.runs)])
        report("every organization", [timed_export(database_url, storage_url, orgs) for _ in range(args.runs)])
    print(f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
