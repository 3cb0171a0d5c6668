"""Benchmark: validating bulk-assignment uploads (phonesys.rules.validation.validate_upload).

Cases:
  valid-by-name / valid-by-uuid   a valid 15,000-row file against an org of 100,000 users (5,000 of
                                  them holding an extension) and 20,000 numbers, as Arrow snapshots
  garbage-random-bytes            5 MB of random bytes
  garbage-one-column              5 MB of single-column junk lines (the header is junk too)
  garbage-header-then-junk        a valid header, then 5 MB of single-column junk lines
  garbage-one-long-line           a valid header, then one 5 MB line
  snapshot-from-inventory         reading that org from a SQLite inventory into the Arrow snapshot
                                  (skipped with --no-inventory)

For each: the median wall time of --runs runs after one warm-up, the peak resident memory during
those runs (Linux VmHWM, reset before them) and how much it grew over the resident memory before,
and the peak of Python allocations in one run (tracemalloc; Arrow and DuckDB buffers are not Python
allocations, the RSS figures include them). Usage: python benchmarks/validate.py [--runs N]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable

import pyarrow as pa

from phonesys.rules.validation import MAX_FILE_BYTES, InventorySnapshot, validate_upload
from phonesys.rules.values import name_key

SEED = uuid.UUID("00000000-0000-0000-0000-0000000bec4c")


def org_tables(users: int, numbers: int, assigned: int) -> tuple[list[str], list[str], list[str]]:
    uuids = [str(uuid.uuid5(SEED, str(i))) for i in range(users)]
    names = [f"User {i:06d}" for i in range(users)]
    phone = [f"+6560{i:06d}" for i in range(numbers)]
    return uuids, names, phone


def make_snapshot(uuids: list[str], names: list[str], phone: list[str], assigned: int) -> InventorySnapshot:
    """The first ``assigned`` users hold extensions 1000.. and the first ``assigned`` numbers."""
    exts = [str(1000 + i) for i in range(assigned)]
    pad = [None] * (len(uuids) - assigned)
    return InventorySnapshot(
        users=pa.table({"identity_uuid": uuids, "name": names, "name_key": [name_key(n) for n in names],
                        "assigned_ext": pa.array(exts + pad, pa.string())}),
        numbers=pa.table({"number": phone, "assigned_ext": pa.array(exts + [None] * (len(phone) - assigned),
                                                                     pa.string())}),
        ext_keys=pa.table({"ext_key": exts}),
        template_rows=pa.table({"ext_key": pa.array([], pa.string()), "identity_uuid": pa.array([], pa.string()),
                                "number": pa.array([], pa.string()), "file_name": pa.array([], pa.string()),
                                "row": pa.array([], pa.int32())}),
    )


def valid_file(uuids: list[str], names: list[str], phone: list[str], assigned: int, rows: int, by: str) -> bytes:
    """Free users, keys 20000.., every other row a free number (half of them without the '+')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Ext Key", "User's Name" if by == "name" else "Identity UUID", "Number"])
    for i in range(rows):
        user = (names if by == "name" else uuids)[assigned + i]
        number = "" if i % 2 else phone[assigned + i // 2][i % 4 // 2:]
        writer.writerow([str(20000 + i), user, number])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


def junk_lines(rng: random.Random, size: int, header: bytes = b"") -> bytes:
    letters = b"abcdefghijklmnopqrstuvwxyz0123456789 "
    line = bytes(rng.choice(letters) for _ in range(79)) + b"\n"
    return (header + line * (size // len(line)))[:size]


def peak_kib() -> tuple[int, int]:
    with open("/proc/self/status") as handle:
        status = handle.read()
    return tuple(int(re.search(rf"{key}:\s+(\d+)", status).group(1)) for key in ("VmHWM", "VmRSS"))


def measure(label: str, work: Callable[[], object], runs: int, check: Callable[[object], str]) -> None:
    outcome = check(work())  # warm-up: imports, first DuckDB connection
    rss_before = peak_kib()[1]
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the peak so it covers only the timed runs
    except OSError:
        pass
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    hwm = peak_kib()[0]
    tracemalloc.start()
    work()
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<26} median {statistics.median(timings) * 1000:7.1f} ms  (min {min(timings) * 1000:.1f}) "
          f"peak RSS {hwm / 1024:6.0f} MB (+{max(hwm - rss_before, 0) / 1024:.0f} MB)  "
          f"python peak {python_peak / 2**20:5.1f} MB  -> {outcome}")


def summary(result) -> str:
    codes = sorted({p.code for p in result.problems})
    return f"accepted {result.rows.num_rows:,} rows" if result.accepted else \
        f"refused: {len(result.problems):,} problems {codes[:4]}"


def inventory_case(uuids, names, phone, runs: int) -> None:
    from phonesys.rules.orgfile import OrgDocument, UserEntry
    from phonesys.storage.inventory.engine import dispose_engines, open_engine, read_transaction
    from phonesys.storage.inventory.orgs import load_org
    from phonesys.storage.inventory.snapshot import snapshot_from_inventory

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/bench.sqlite3")
        org_uuid = str(uuid.uuid5(SEED, "org"))
        load_org(engine, OrgDocument(org_uuid=org_uuid, name="Bench", base_licenses=0, numbers=phone,
                                     users=[UserEntry(identity_uuid=u, name=n) for u, n in zip(uuids, names)]))
        template = make_snapshot([], [], [], 0).template_rows

        def work():
            with read_transaction(engine) as connection:
                return snapshot_from_inventory(connection, org_uuid, template)
        measure("snapshot-from-inventory", work, runs, lambda s: f"{s.users.num_rows:,} users, "
                f"{s.numbers.num_rows:,} numbers")
        dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--no-inventory", action="store_true", help="skip the SQLite snapshot case")
    args = parser.parse_args()
    assigned = 5_000
    uuids, names, phone = org_tables(args.users, args.numbers, assigned)
    snapshot = make_snapshot(uuids, names, phone, assigned)
    rng = random.Random(4)
    header = b"Ext Key,User's Name,Number\n"
    cases = {
        "valid-by-name": valid_file(uuids, names, phone, assigned, args.rows, "name"),
        "valid-by-uuid": valid_file(uuids, names, phone, assigned, args.rows, "uuid"),
        "garbage-random-bytes": rng.randbytes(MAX_FILE_BYTES),
        "garbage-one-column": junk_lines(rng, MAX_FILE_BYTES),
        "garbage-header-then-junk": junk_lines(rng, MAX_FILE_BYTES, header),
        "garbage-one-long-line": (header + b"101," + b"x" * MAX_FILE_BYTES)[:MAX_FILE_BYTES],
    }
    print(f"org: {args.users:,} users ({assigned:,} assigned), {args.numbers:,} numbers; runs={args.runs}")
    for label, data in cases.items():
        print(f"  {label}: {len(data):,} bytes")
    for label, data in cases.items():
        measure(label, lambda data=data, name=f"{label}.csv": validate_upload(data, name, snapshot),
                args.runs, summary)
    if not args.no_inventory:
        inventory_case(uuids, names, phone, args.runs)


if __name__ == "__main__":
    main()
