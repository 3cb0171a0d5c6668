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
from pathlib import Path

from bench_org import ROWS, postgres_schema, started_template


def one_run(engine, chunk: int) -> tuple[float, float, float]:
    """(start seconds, assignment rows/s, assignment CPU seconds of this process) for one fresh
    template. On SQLite all the work is in this process, so CPU seconds barely move with the
    machine's other load: the figure to compare versions by on a busy machine."""
    from phonesys.storage.inventory.assignment import assign_chunk

    template, ids, start_seconds = started_template(engine, chunk_size=chunk)
    started, cpu = time.perf_counter(), time.process_time()
    assigned = sum(assign_chunk(engine, template, ids[i:i + chunk]).assigned for i in range(0, len(ids), chunk))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert assigned == ROWS, assigned
    return start_seconds, ROWS / seconds, cpu


def measure(label: str, url: str, runs: int, chunk: int) -> None:
    from phonesys.storage.inventory.engine import open_engine

    engine = open_engine(url)
    results = [one_run(engine, chunk) for _ in range(runs)]
    engine.dispose()
    print(f"{label:<10} start median {statistics.median(r[0] for r in results):.2f}s; "
          f"assignment median {statistics.median(r[1] for r in results):,.0f} rows/s, "
          f"{statistics.median(r[2] for r in results):.2f} CPU s (runs={runs}, chunk={chunk})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-bench-"))
    measure("sqlite", f"sqlite:///{home / 'inventory.sqlite3'}", args.runs, args.chunk)
    pg = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
    if pg:
        with postgres_schema(pg) as url:
            measure("postgresql", url, args.runs, args.chunk)


if __name__ == "__main__":
    main()
