"""Races with real processes: bulk assignment flows running at the same time, on SQLite and PostgreSQL.

Each child process imports everything, waits for a shared "go" file and then runs the flow
(``tests.bulkfixtures.FLOW_CHILD``), so the flows really overlap. Two templates of one organization
compete for its last base licenses and for the same numbers, users and ext keys: nothing is ever
oversubscribed, every row of both ends with exactly one outcome, and every losing row carries the
code of what it lost. Two processes running the *same* template decide each row exactly once.
"""

from __future__ import annotations

import pytest

from storage.inventory.jobs import status_counts
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

LOSING_CODES = {"base-licenses-insufficient", "number-in-use", "user-already-assigned", "ext-key-taken"}


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


def competing_rows(org, first: list[dict]) -> tuple[list[dict], dict[int, tuple[int, str]]]:
    """40 rows for a second template: rows 0-4 name a user of ``first``, rows 5-14 one of its
    numbers, rows 15-16 one of its ext keys; the rest want nothing ``first`` wants. Returns the rows
    and, per contested row, the index of the row of ``first`` it competes with and the code it loses by."""
    rows = make_rows(org, 40, first_user=40, first_key=3000, first_number=40)
    contested = {}
    for j in range(17):
        field, code = (("identity_uuid", "user-already-assigned") if j < 5 else
                       ("number", "number-in-use") if j < 15 else ("ext_key", "ext-key-taken"))
        opponent = 10 + j
        rows[j][field] = first[opponent][field]
        if field == "identity_uuid":
            rows[j]["user_name"] = first[opponent]["user_name"]
        contested[j] = (opponent, code)
    return rows, contested


def test_two_templates_compete_for_the_last_licenses_numbers_users_and_keys(
        engine, phonesys_env, prefect_api_url, tmp_path):
    org = bulk_org(engine, base=60)
    first_rows = make_rows(org, 40)
    second_rows, contested = competing_rows(org, first_rows)
    first = make_template(engine, org, first_rows, addons=("Voicemail",), name="A")
    second = make_template(engine, org, second_rows, addons=("Voicemail",), name="B")
    start(engine, first)
    start(engine, second)  # each alone fits: the preflight passes for both
    before = extension_ids(engine, org.org_uuid)

    results = run_together([first, second], child_env(phonesys_env, prefect_api_url), tmp_path, chunk_size=5)

    assert [r["state"] for r in results] == ["COMPLETED", "COMPLETED"], results
    for result in results:  # each flow decided each of its own rows once
        assert sum(assigned + failed for assigned, failed, _ in result["chunks"]) == 40
    assert_invariants(engine)
    assert_ledger(engine, first, second, extensions_before=before)
    a, b = list(ledger(engine, first).values()), list(ledger(engine, second).values())
    assert_overlapped(a, b)
    # Never oversubscribed; at most 17 rows lose a contest, so the 60 base licenses all went.
    assigned = sum(e["status"] == "assigned" for e in a + b)
    assert assigned == 60 and inventory_state(engine, org.org_uuid)["usage"]["base_licenses"] == {
        "total": 60, "used": 60, "available": 0}
    failed = [e for e in a + b if e["status"] == "failed"]
    assert {e["code"] for e in failed} <= LOSING_CODES
    assert any(e["code"] == "base-licenses-insufficient" for e in failed)
    for j, (i, code) in contested.items():
        pair = (a[i], b[j])
        outcomes = sorted((e["status"], e["code"]) for e in pair)
        assert outcomes in ([("assigned", None), ("failed", code)],
                            [("assigned", None), ("failed", "base-licenses-insufficient")],
                            [("failed", "base-licenses-insufficient"), ("failed", code)],
                            [("failed", "base-licenses-insufficient")] * 2), pair
    uncontested = [e for i, e in enumerate(a) if i not in {i for i, _ in contested.values()}]
    uncontested += [e for j, e in enumerate(b) if j not in contested]
    assert {e["code"] for e in uncontested if e["status"] == "failed"} <= {"base-licenses-insufficient"}


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
