"""Races with real processes: bulk assignment flows running at the same time, on SQLite and PostgreSQL.

Each child process imports everything, waits for a shared "go" file and then runs the flow
(``tests.bulkfixtures.FLOW_CHILD``), so the flows really overlap. Two started templates of one
organization run at once and, holding what they need since their start, neither loses a row (the
contests for licenses, numbers, users and keys are decided at start: ``tests/test_holds_races.py``).
Two processes running the *same* template decide each row exactly once (docs/invariants.md#exactly-once).
"""

from __future__ import annotations

import pytest

from phonesys.storage.inventory.jobs import status_counts
from tests.bulkfixtures import (
    bulk_org,
    child_env,
    extension_ids,
    inventory_state,
    ledger,
    make_rows,
    make_template,
    result_of,
    spawn_flow,
    start,
    wait_ready,
)
from tests.invariants import assert_invariants, assert_ledger

pytestmark = pytest.mark.slow

def run_together(template_uuids: list[str], env: dict, tmp_path, chunk_size: int = 10) -> list[dict]:
    """Run the templates' flows in one process each, released together at their first chunk."""
    go = tmp_path / "go"
    children = [spawn_flow(t, env, chunk_size=chunk_size, go=go, wait_at="first-chunk", pause=0.1)
                for t in template_uuids]
    try:
        wait_ready(children)
        go.touch()
        return [result_of(child) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_two_started_templates_run_at_once_and_neither_loses_a_row(
        engine, phonesys_env, prefect_api_url, tmp_path):
    org = bulk_org(engine, base=80)
    first = make_template(engine, org, make_rows(org, 40), addons=("Voicemail",), name="A")
    second_rows = make_rows(org, 40, first_user=40, first_key=3000, first_number=40)
    second = make_template(engine, org, second_rows, addons=("Voicemail",), name="B")
    start(engine, first)
    start(engine, second)  # together they fit: both hold their rows (the contests are in test_holds_races)
    before = extension_ids(engine, org.org_uuid)

    results = run_together([first, second], child_env(phonesys_env, prefect_api_url), tmp_path, chunk_size=5)

    assert [r["state"] for r in results] == ["COMPLETED", "COMPLETED"], results
    for result in results:  # each flow decided each of its own rows once
        assert sum(assigned + failed for assigned, failed, _ in result["chunks"]) == 40
    assert_invariants(engine)
    assert_ledger(engine, first, second, extensions_before=before)
    a, b = list(ledger(engine, first).values()), list(ledger(engine, second).values())
    assert_overlapped(a, b)
    assert all(e["status"] == "assigned" for e in a + b), [e for e in a + b if e["status"] != "assigned"]
    assert inventory_state(engine, org.org_uuid)["usage"]["base_licenses"] == {
        "total": 80, "used": 80, "held": 0, "available": 0}


def assert_overlapped(a: list[dict], b: list[dict]) -> None:
    """The two flows' chunks really interleaved (else this would not have been a race)."""
    span_a = min(e["processed_at"] for e in a), max(e["processed_at"] for e in a)
    span_b = min(e["processed_at"] for e in b), max(e["processed_at"] for e in b)
    assert span_a[0] < span_b[1] and span_b[0] < span_a[1], f"no overlap: {span_a} vs {span_b}"


def test_two_processes_running_the_same_template_decide_each_row_once(
        engine, phonesys_env, prefect_api_url, tmp_path):
    org = bulk_org(engine)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=("Voicemail", "Call Recording"))
    start(engine, template)
    before = extension_ids(engine, org.org_uuid)

    results = run_together([template, template], child_env(phonesys_env, prefect_api_url), tmp_path)

    decided_by = [sum(a + f for a, f, _ in r["chunks"]) for r in results]
    assert sum(decided_by) == 100, results  # every row decided by exactly one of the two
    assert [sum(a + f + d for a, f, d in r["chunks"]) for r in results] == [100, 100], results  # the rest skipped
    assert [r["state"] for r in results] == ["COMPLETED", "COMPLETED"], results
    assert status_counts(engine, template) == {"pending": 0, "assigned": 100, "failed": 0}
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before)
