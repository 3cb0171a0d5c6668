"""Benchmark: reverting a completed 15,000-row template, next to the bulk assignment that made it.

Each repetition builds a fresh organization and template (not timed), runs the bulk assignment
flow, plans the revert (timed: it judges every extension against the audit log and holds them),
then runs the template-revert flow. Prints medians: forward and revert flow wall time, rows/s of
their chunk tasks (assign-chunk vs revert-chunk) and the plan's time, on SQLite or PostgreSQL.

Uses PREFECT_API_URL if set; otherwise starts `prefect server start` on a free loopback port.
Usage: python benchmarks/revert.py [--runs 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench_org import ROWS, postgres_schema
from bulk_assignment import build_template, prefect_api


def chunk_seconds(flow_run_id, prefix: str) -> float:
    """Sum of the run's task run times whose name starts with ``prefix`` (the row work itself)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sum(r.total_run_time.total_seconds() for r in runs if r.name.startswith(prefix))


def one_round(engine) -> dict[str, float]:
    from phonesys.flows.bulk_assignment import BulkAssignmentParameters, bulk_assignment
    from phonesys.flows.template_revert import template_revert
    from phonesys.storage.inventory.revert_plan import start_revert

    template = build_template(engine)
    started = time.perf_counter()
    forward = bulk_assignment(BulkAssignmentParameters(template_uuid=template), return_state=True)
    forward_wall = time.perf_counter() - started
    assert forward.is_completed() and forward.result()["assigned"] == ROWS, forward
    started = time.perf_counter()
    plan = start_revert(engine, template)
    plan_seconds = time.perf_counter() - started
    assert len(plan.remove) == ROWS, plan
    started = time.perf_counter()
    backward = template_revert(template, return_state=True)
    revert_wall = time.perf_counter() - started
    assert backward.is_completed(), backward
    return {"forward wall s": forward_wall, "revert plan s": plan_seconds, "revert wall s": revert_wall,
            "assign rows/s": ROWS / chunk_seconds(forward.state_details.flow_run_id, "assign-chunk"),
            "revert rows/s": ROWS / chunk_seconds(backward.state_details.flow_run_id, "revert-chunk")}


def measure(runs: int) -> None:
    from phonesys.settings import load_settings
    from phonesys.storage.inventory.engine import open_engine

    engine = open_engine(load_settings().inventory_url)
    rounds = [one_round(engine) for _ in range(runs)]
    medians = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    print(f"{ROWS:,}-row template, {engine.url.get_backend_name()}, medians of {runs}:")
    for name, value in medians.items():
        print(f"  {name:<15} {value:>10,.2f}")
    print(f"  revert/forward rows/s ratio {medians['revert rows/s'] / medians['assign rows/s']:.2f}; "
          f"wall ratio {medians['revert wall s'] / medians['forward wall s']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="measure on PostgreSQL (a private schema) instead")
    args = parser.parse_args()
    with prefect_api():
        if args.postgres:
            with postgres_schema(args.postgres) as url:
                os.environ["PHONESYS_DATABASE_URL"] = url
                measure(args.runs)
        else:
            measure(args.runs)

if __name__ == "__main__":
    main()
