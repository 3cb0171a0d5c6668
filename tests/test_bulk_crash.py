"""Kill tests: the bulk assignment flow SIGKILLed in a real process, then run again to the end.

A child process runs the flow (``phonesys.flows.run_template.run_flow_in_foreground``) against the session's
Prefect test server. With ``PHONESYS_FAILPOINT`` it freezes at a named point and says so on stderr;
the test then checks the inventory *while it is frozen* and again after SIGKILL (nothing half done:
a chunk is all or nothing), reruns the flow and checks docs/invariants.md#exactly-once: every row ends with
exactly one outcome, rows decided before the crash keep theirs (same extension, same time), no
extension exists that the ledger does not record, and the report lists every row.
"""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from phonesys.flows.run_template import run_flow_in_foreground
from phonesys.ops.run_states import ROLLED_BACK
from phonesys.storage.inventory.extensions import unassign_user
from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.objects import open_object_store
from tests.bulkfixtures import (
    StderrWatch,
    bulk_org,
    child_env,
    decided,
    extension_ids,
    give_user,
    holds_released,
    inventory_state,
    kill,
    kill_at_failpoint,
    ledger,
    make_rows,
    make_template,
    read_report,
    rekey_by_hand,
    spawn_flow,
    start,
    take_number,
    take_user,
    template_status,
    wait_ready,
)
from tests.invariants import (
    assert_invariants,
    assert_ledger,
    invariant_violations,
    ledger_violations,
)

pytestmark = pytest.mark.slow

ROWS, CHUNK = 100, 20
FAILING = {5: "user-assigned", 33: "number-assigned", 70: "user-assigned"}


def started_with_failures(engine, **start_options):
    """100 rows in chunks of 20; after the start, three rows' users/numbers are taken elsewhere."""
    org = bulk_org(engine)
    rows = make_rows(org, ROWS)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    start(engine, template, chunk_size=CHUNK, **start_options)
    take_user(engine, org, rows[5]["identity_uuid"], "900")
    take_number(engine, org, rows[33]["number"], "901")
    take_user(engine, org, rows[70]["identity_uuid"], "902")
    return org, rows, template


def assert_consistent_mid_run(engine, template: str, before: set[int], decided_rows: int) -> dict:
    """The state a crash may leave: invariants hold, exactly ``decided_rows`` rows decided (whole
    chunks), and the extensions are those before plus one per assigned row."""
    assert_invariants(engine)
    assert_ledger(engine, template, completed=False, extensions_before=before)
    done = decided(ledger(engine, template))
    assert len(done) == decided_rows, f"{len(done)} rows decided, expected {decided_rows}"
    assert template_status(engine, template) == "in_progress"
    return done


def assert_finished(engine, store, org, rows, template: str, before: set[int], done_before_crash: dict) -> None:
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before)
    final = ledger(engine, template)
    assert {row_id: final[row_id] for row_id in done_before_crash} == done_before_crash, \
        "a row decided before the crash was decided again"
    codes = {i: entry["code"] for i, entry in enumerate(final.values()) if entry["status"] == "failed"}
    assert codes == FAILING
    assert status_counts(engine, template) == {"pending": 0, "assigned": ROWS - 3, "failed": 3}
    _, report = read_report(store, template_detail(engine, template, action="report").report_key)
    assert [(r["Ext Key"], r["Status"]) for r in report] == [(e["ext_key"], e["status"]) for e in final.values()]
    assert inventory_state(engine, org.org_uuid)["usage"]["base_licenses"]["used"] == ROWS - 3 + 3


@pytest.fixture
def store(phonesys_env):
    return open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects")


# failpoint -> rows decided when it is reached (chunks of 20)
FAILPOINTS = {"before-first-chunk": 0, "mid-chunk:2": CHUNK, "between-chunks:2": 2 * CHUNK, "during-report": ROWS}


@pytest.mark.parametrize("point", list(FAILPOINTS))
def test_killed_at_a_failpoint_then_rerun_finishes_exactly_once(
        point, engine, phonesys_env, prefect_api_url, store, cli):
    org, rows, template = started_with_failures(engine)
    before = extension_ids(engine, org.org_uuid)
    child = spawn_flow(template, child_env(phonesys_env, prefect_api_url, PHONESYS_FAILPOINT=point))
    watch = StderrWatch(child)
    try:
        watch.wait_for(f"FAILPOINT {point.partition(':')[0]}")
        frozen = assert_consistent_mid_run(engine, template, before, FAILPOINTS[point])
    finally:
        kill(child)
    done = assert_consistent_mid_run(engine, template, before, FAILPOINTS[point])
    assert done == frozen
    if point == "mid-chunk:2":  # the second chunk had created its extensions when it was killed
        chunk_2_keys = {r["ext_key"] for r in rows[CHUNK:2 * CHUNK]}
        assert not chunk_2_keys & {e["ext_key"] for e in inventory_state(engine, org.org_uuid)["extensions"]}
    if point == "during-report":
        assert not list(store.list(f"reports/{org.org_uuid}/"))

    if point == "during-report":  # finish it the way an admin would
        result = cli("template", "start", template, "--resume", "--json")
        assert result.exit_code == 3, result.output  # 3 rows failed
    else:
        state = run_flow_in_foreground(template)
        assert state.is_completed(), state.message
    assert_finished(engine, store, org, rows, template, before, done)


def test_all_or_nothing_killed_between_chunks_then_a_row_fails_undoes_everything(
        engine, phonesys_env, prefect_api_url):
    org = bulk_org(engine)
    rows = make_rows(org, ROWS)
    template = make_template(engine, org, rows, addons=("Voicemail", "Call Recording"))
    provision(engine, org.org_uuid, 1, "900")
    start(engine, template, chunk_size=CHUNK, policy="all-or-nothing")
    before = inventory_state(engine, org.org_uuid)
    kill_at_failpoint(template, child_env(phonesys_env, prefect_api_url), "between-chunks:2")
    assert_consistent_mid_run(engine, template, before["extension_ids"], 2 * CHUNK)
    # While the job is down, row 80's user gets an extension elsewhere: the rerun must undo chunks 1-2.
    give_user(engine, org.org_uuid, "900", rows[80]["identity_uuid"])
    state = run_flow_in_foreground(template)
    assert (state.type.value, state.name) == ("FAILED", ROLLED_BACK), state.message
    assert_ledger(engine, template, extensions_before=before["extension_ids"])
    entries = list(ledger(engine, template).values())
    assert entries[80]["code"] == "user-assigned"
    assert {e["code"] for e in entries[:2 * CHUNK]} == {"rolled-back"}
    assert {e["code"] for e in entries[2 * CHUNK:80] + entries[81:]} == {"not-attempted"}
    unassign_user(engine, org.org_uuid, "900")
    assert inventory_state(engine, org.org_uuid) == holds_released(before)
    assert_invariants(engine)


def test_random_kills_then_rerun(engine, phonesys_env, prefect_api_url, store, tmp_path):
    """Three runs of one template, each killed after a random delay, then a rerun to the end."""
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    org, rows, template = started_with_failures(engine)
    before = extension_ids(engine, org.org_uuid)
    env = child_env(phonesys_env, prefect_api_url)
    gos = [tmp_path / f"go-{i}" for i in range(3)]
    children = [spawn_flow(template, env, chunk_size=5, go=go) for go in gos]  # they import in parallel
    done: dict = {}
    kills = []  # (delay, rows decided after the kill), for the failure message
    try:
        wait_ready(children)
        for child, go in zip(children, gos):
            delay = rng.uniform(0.2, 1.0)
            go.touch()
            try:
                child.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass  # still running: the point of the test
            kill(child)
            now = decided(ledger(engine, template))
            kills.append((round(delay, 3), len(now)))
            context = f"seed {seed}, kills (delay s, rows decided) {kills}"
            assert {row_id: now[row_id] for row_id in done} == done, context
            violations = invariant_violations(engine) + ledger_violations(engine, template)
            assert not violations, f"{context}:\n" + "\n".join(violations)
            assert len(now) % 5 == 0, f"{context}: a chunk of 5 was half decided"
            assert_ledger(engine, template, completed=False, extensions_before=before)
            done = now
    finally:
        for child in children:
            if child.poll() is None:
                kill(child)
    if template_status(engine, template) != "completed":
        state = run_flow_in_foreground(template)
        assert state.is_completed(), state.message
    assert_finished(engine, store, org, rows, template, before, done)


def test_all_or_nothing_undo_after_a_kill_deletes_only_what_the_template_made(
        engine, phonesys_env, prefect_api_url, cli):
    """200 rows in chunks of 50, killed between chunks 2 and 3. While it is down an admin deletes
    the newest extension (the last one the template made) and provisions 700, which a store that
    reuses ids numbers like the deleted one; a pending row's user is given to 700 out of band. The
    resumed all-or-nothing run must undo the template's extensions and leave 700 alone, and its
    message must count what it did: 100 rolled back (one already deleted), 99 never attempted."""
    org = bulk_org(engine, users=220, numbers=220)
    rows = make_rows(org, 200)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    start(engine, template, chunk_size=50, policy="all-or-nothing")
    before = extension_ids(engine, org.org_uuid)
    kill_at_failpoint(template, child_env(phonesys_env, prefect_api_url), "between-chunks:2")
    assert len(decided(ledger(engine, template))) == 100
    newest = max(extension_ids(engine, org.org_uuid))

    assert cli("ext", "delete", org.org_uuid, rows[99]["ext_key"]).exit_code == 0
    assert cli("provision", org.org_uuid, "--start", "700").exit_code == 0
    give_user(engine, org.org_uuid, "700", rows[150]["identity_uuid"])
    (ext_700,) = extension_ids(engine, org.org_uuid) - before - {e["extension_id"] for e in ledger(
        engine, template).values() if e["extension_id"]}
    assert ext_700 > newest, "an extension id was given out a second time"

    result = cli("template", "start", template, "--resume", "--json")

    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["message"] == (
        "all-or-nothing: rows failed (user-assigned x1); 100 rolled back, 99 not attempted, nothing changed")
    assert extension_ids(engine, org.org_uuid) == before | {ext_700}
    kept = {e["ext_key"]: e for e in inventory_state(engine, org.org_uuid)["extensions"]}["700"]
    assert kept["user"]["identity_uuid"] == rows[150]["identity_uuid"]
    codes = [e["code"] for e in ledger(engine, template).values()]
    assert codes[150] == "user-assigned"
    assert set(codes[:100]) == {"rolled-back"} and set(codes[100:150] + codes[151:]) == {"not-attempted"}
    assert_invariants(engine)


def test_an_extension_rekeyed_by_hand_survives_the_undo_and_its_row_says_so(engine, phonesys_env, prefect_api_url):
    """After the kill, an admin re-keys one of the template's extensions: it is no longer only the
    template's to remove, so the undo leaves it and the row is ``changed-since``."""
    org = bulk_org(engine)
    rows = make_rows(org, ROWS)
    template = make_template(engine, org, rows)
    provision(engine, org.org_uuid, 1, "900")
    start(engine, template, chunk_size=CHUNK, policy="all-or-nothing")
    kill_at_failpoint(template, child_env(phonesys_env, prefect_api_url), "between-chunks:1")
    rekey_by_hand(engine, org.org_uuid, rows[3]["ext_key"], "3003")
    give_user(engine, org.org_uuid, "900", rows[60]["identity_uuid"])

    state = run_flow_in_foreground(template)

    assert state.message == ("all-or-nothing: rows failed (user-assigned x1); 19 rolled back, "
                             "79 not attempted; 1 kept: their extension changed since")
    entries = list(ledger(engine, template).values())
    assert (entries[3]["code"], entries[60]["code"]) == ("changed-since", "user-assigned")
    keys = {e["ext_key"] for e in inventory_state(engine, org.org_uuid)["extensions"]}
    assert keys == {"900", "3003"}
    assert_invariants(engine)
