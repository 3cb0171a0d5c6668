"""The bulk assignment flow under a Prefect test server, end to end, on SQLite and PostgreSQL.

Templates are built directly (``tests.bulkfixtures``: ``create_template`` + ``accept_files``), started
with ``start_job`` and run in this process with ``phonesys.flows.run_template.run_flow_in_foreground``. Each test
checks the final Prefect state, the template's ledger against the inventory (``assert_ledger``), the
inventory invariants, and what people see: the report file, the export, and the run's artifacts.
"""

from __future__ import annotations

import json
import re

import pytest

from phonesys.flows.run_template import run_flow_in_foreground
from phonesys.ops.run_states import PARTIAL, ROLLED_BACK
from phonesys.rules.errors import Refused
from phonesys.storage.inventory.extensions import unassign_user
from phonesys.storage.inventory.jobs import start_job, status_counts
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.template_views import template_detail, template_users
from phonesys.storage.objects import open_object_store
from tests.bulkfixtures import (
    bulk_org,
    decided,
    extension_ids,
    give_user,
    holds_released,
    inventory_state,
    ledger,
    make_rows,
    make_template,
    read_artifacts,
    read_report,
    start,
    take_key,
    take_number,
    take_user,
    template_status,
)
from tests.cliassert import ok, refused
from tests.invariants import assert_invariants, assert_ledger

REPORT_HEADER = ["Ext Key", "User's Name", "Identity UUID", "Number", "Add-ons", "Status", "Reason", "File", "Row"]
REPORT_KEY = r"reports/{org}/{template}/{org}_\d{{8}}T\d{{6}}Z_license_phonesystem_bulk_assignment_report\.csv"
EXPORT_KEY = r"exports/{org}/{org}_\d{{8}}T\d{{6}}Z_license_phonesystem_provisioned_extension\.csv"
BOTH_ADDONS = ("Call Recording", "Voicemail")


@pytest.fixture
def store(phonesys_env):
    return open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects")


def run(template_uuid: str, chunk_size: int | None = None):
    return run_flow_in_foreground(template_uuid, chunk_size)


def some_without_number(rows: list[dict], every: int = 3) -> list[dict]:
    """Every ``every``-th row has no number (numbers are optional)."""
    return [{**row, "number": None} if i % every == 0 else row for i, row in enumerate(rows)]


def test_happy_path_assigns_every_row_and_reports_it(prefect_server, engine, phonesys_env, store):
    org = bulk_org(engine)
    rows = some_without_number(make_rows(org, 60))
    template = make_template(engine, org, rows, addons=BOTH_ADDONS, files=2)
    before = extension_ids(engine, org.org_uuid)
    start(engine, template, chunk_size=25)

    state = run(template)

    assert state.is_completed(), state.message
    result = state.result()
    assert {k: result[k] for k in ("completed", "assigned", "failed", "pending")} == {
        "completed": True, "assigned": 60, "failed": 0, "pending": 0}
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before)
    usage = inventory_state(engine, org.org_uuid)["usage"]
    assert usage["base_licenses"]["used"] == 60
    assert {sku: pool["used"] for sku, pool in usage["addons"].items()} == {sku: 60 for sku in BOTH_ADDONS}
    assert usage["numbers"]["assigned"] == sum(r["number"] is not None for r in rows)

    detail = template_detail(engine, template, action="report")
    assert re.fullmatch(REPORT_KEY.format(org=org.org_uuid, template=template), detail.report_key)
    assert re.fullmatch(EXPORT_KEY.format(org=org.org_uuid), detail.export_key)
    assert result["report"]["key"] == detail.report_key and result["export"]["key"] == detail.export_key
    header, report = read_report(store, detail.report_key)
    assert header == REPORT_HEADER
    assert [(r["Ext Key"], r["Identity UUID"], r["Number"] or None) for r in report] == [
        (r["ext_key"], r["identity_uuid"], r["number"]) for r in rows]
    assert {(r["Status"], r["Reason"], r["Add-ons"]) for r in report} == {("assigned", "", "Call Recording; Voicemail")}
    assert [(r["File"], r["Row"]) for r in report[:2]] == [("users-0.csv", "2"), ("users-0.csv", "3")]
    assert report[-1]["File"] == "users-1.csv"
    _, export = read_report(store, detail.export_key)
    assert sorted(e["Ext Key"] for e in export) == sorted(r["ext_key"] for r in rows)

    artifacts = read_artifacts(state.state_details.flow_run_id)
    assert artifacts["bulk-progress"].type == "progress" and float(artifacts["bulk-progress"].data) == 100.0
    summary = artifacts["bulk-summary"].data
    assert artifacts["bulk-summary"].type == "markdown"
    for line in ("| assigned | 60 |", "| failed | 0 |", "| pending | 0 |", "| Phone System base licenses | 0 | 60 |",
                 result["report"]["location"], result["export"]["location"]):
        assert line in summary
    assert "bulk-failed" not in artifacts
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(state.state_details.flow_run_id).name == f"{org.name} / Bulk test"


def test_rows_that_cannot_be_assigned_any_more_fail_with_a_reason_and_claim_nothing(
        prefect_server, engine, phonesys_env, store, cli):
    org = bulk_org(engine)
    rows = make_rows(org, 60)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    start(engine, template)
    # Meanwhile, outside the template: row 5's user, row 25's number and row 45's key are taken.
    take_user(engine, org, rows[5]["identity_uuid"], "900")
    take_number(engine, org, rows[25]["number"], "901")
    take_key(engine, org, rows[45]["ext_key"])
    before = inventory_state(engine, org.org_uuid)

    state = run(template)

    assert (state.type.value, state.name) == ("COMPLETED", PARTIAL), state.message
    assert state.message == ("57 of 60 rows assigned, 3 failed "
                             "(ext-key-exists x1, number-assigned x1, user-assigned x1)")
    assert state.result()["codes"] == {"ext-key-exists": 1, "number-assigned": 1, "user-assigned": 1}
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before["extension_ids"])
    entries = list(ledger(engine, template).values())
    failed = {i: (e["code"], e["status"]) for i, e in enumerate(entries) if e["status"] != "assigned"}
    assert failed == {5: ("user-assigned", "failed"), 25: ("number-assigned", "failed"),
                      45: ("ext-key-exists", "failed")}
    after = inventory_state(engine, org.org_uuid)
    assert after["usage"]["base_licenses"]["used"] == before["usage"]["base_licenses"]["used"] + 57
    assert after["usage"]["addons"]["Voicemail"]["used"] == 57
    # The failed rows claimed nothing: the competing extensions are as they were.
    kept = {e["ext_key"]: e for e in before["extensions"]}
    assert {e["ext_key"]: e for e in after["extensions"] if e["ext_key"] in kept} == kept

    artifacts = read_artifacts(state.state_details.flow_run_id)
    assert float(artifacts["bulk-progress"].data) == 100.0
    assert "| assigned | 57 |" in artifacts["bulk-summary"].data and "| failed | 3 |" in artifacts["bulk-summary"].data
    table = artifacts["bulk-failed"]
    assert table.type == "table"
    assert [(r["row"], r["code"]) for r in _table_rows(table.data)] == [
        (7, "user-assigned"), (27, "number-assigned"), (47, "ext-key-exists")]
    _, report = read_report(store, template_detail(engine, template, action="report").report_key)
    by_key = {r["Ext Key"]: r for r in report}
    assert len(report) == 60 and sum(r["Status"] == "assigned" for r in report) == 57
    assert by_key[rows[5]["ext_key"]]["Status"] == "failed" and "already has extension 900" in by_key[rows[5]["ext_key"]]["Reason"]
    assert "already assigned to extension 901" in by_key[rows[25]["ext_key"]]["Reason"]

    summary = ok(cli, "template", "report", template)
    assert summary["counts"] == {"pending": 0, "assigned": 57, "failed": 3}
    assert [r["code"] for r in summary["failed_rows"]] == ["user-assigned", "number-assigned", "ext-key-exists"]


def _table_rows(data) -> list[dict]:
    """A table artifact's rows (the API returns them as a JSON string)."""
    return json.loads(data) if isinstance(data, str) else data


def test_all_or_nothing_with_a_row_that_fails_before_anything_is_claimed(prefect_server, engine, phonesys_env):
    org = bulk_org(engine)
    rows = make_rows(org, 60)
    template = make_template(engine, org, rows, addons=BOTH_ADDONS)
    start(engine, template, policy="all-or-nothing")
    take_user(engine, org, rows[30]["identity_uuid"], "900")
    before = inventory_state(engine, org.org_uuid)

    state = run(template)

    assert (state.type.value, state.name) == ("FAILED", ROLLED_BACK), state.message
    assert state.message == ("all-or-nothing: rows failed (user-assigned x1); "
                             "0 rolled back, 59 not attempted, nothing changed")
    assert state.result(raise_on_failure=False)["codes"] == {"not-attempted": 59, "user-assigned": 1}
    assert inventory_state(engine, org.org_uuid) == holds_released(before)
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before["extension_ids"])
    codes = [e["code"] for e in ledger(engine, template).values()]
    assert codes[30] == "user-assigned"
    assert codes[:30] + codes[31:] == ["not-attempted"] * 59
    assert status_counts(engine, template) == {"pending": 0, "assigned": 0, "failed": 60}
    assert template_status(engine, template) == "completed"


def test_all_or_nothing_undoes_chunks_already_assigned_when_a_later_row_fails(
        prefect_server, engine, phonesys_env, chunk_spy):
    org = bulk_org(engine)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=BOTH_ADDONS)
    provision(engine, org.org_uuid, 1, "900")  # a spare extension someone gives row 50's user mid-run
    start(engine, template, policy="all-or-nothing")
    before = inventory_state(engine, org.org_uuid)

    def before_chunk(number: int, _row_ids) -> None:
        if number == 3:  # chunks 1 and 2 are assigned by now
            give_user(engine, org.org_uuid, "900", rows[50]["identity_uuid"])

    spy = chunk_spy(before_chunk)
    state = run(template)

    assert (state.type.value, state.name) == ("FAILED", ROLLED_BACK), state.message
    assert [o.assigned for o in spy.outcomes[:2]] == [20, 20]
    unassign_user(engine, org.org_uuid, "900")  # take back the competing change ...
    assert inventory_state(engine, org.org_uuid) == holds_released(before)  # ... and nothing else is left over
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before["extension_ids"])
    codes = [e["code"] for e in ledger(engine, template).values()]
    assert codes[50] == "user-assigned"
    # rows of the chunks up to the failing one were assigned, then undone; the rest never started
    assert set(codes[:50] + codes[51:60]) == {"rolled-back"} and set(codes[60:]) == {"not-attempted"}
    assert status_counts(engine, template)["failed"] == 100


def test_a_chunk_failing_with_a_non_transient_error_fails_the_flow_and_a_rerun_finishes(
        prefect_server, engine, phonesys_env, chunk_spy):
    org = bulk_org(engine)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    before = extension_ids(engine, org.org_uuid)
    start(engine, template)

    def explode_on_chunk_2(number: int, _row_ids) -> None:
        if number == 2:
            raise RuntimeError("disk on fire")

    spy = chunk_spy(explode_on_chunk_2)
    state = run(template)

    assert state.is_failed(), state
    assert "disk on fire" in str(state.message) or "disk on fire" in repr(state.result(raise_on_failure=False))
    assert len(spy.calls) == 2, "a non-transient error must not be retried, nor later chunks run"
    assert template_status(engine, template) == "in_progress"
    after_failure = decided(ledger(engine, template))
    assert len(after_failure) == 20 and status_counts(engine, template)["pending"] == 80
    assert_invariants(engine)
    assert_ledger(engine, template, completed=False)
    artifacts = read_artifacts(state.state_details.flow_run_id)
    assert float(artifacts["bulk-progress"].data) < 100.0 and "bulk-summary" not in artifacts

    spy.before = None  # no more explosions
    rerun = run(template)

    assert rerun.is_completed(), rerun.message
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template, extensions_before=before)
    final = ledger(engine, template)
    assert {row_id: final[row_id] for row_id in after_failure} == after_failure, "rows done before were redone"
    assert status_counts(engine, template) == {"pending": 0, "assigned": 100, "failed": 0}


def test_cli_exit_status_says_flow_failed_then_resume_finishes(prefect_server, engine, cli, chunk_spy):
    org = bulk_org(engine)
    template = make_template(engine, org, make_rows(org, 40))

    def explode(number: int, _row_ids) -> None:
        if number == 1:
            raise RuntimeError("disk on fire")

    chunk_spy(explode)
    failed = cli("template", "start", template, "--chunk-size", "20", "--json")
    assert failed.exit_code == 70, failed.output
    assert template_status(engine, template) == "in_progress"
    finished = cli("template", "start", template, "--resume", "--json")
    assert finished.exit_code == 0, finished.output
    assert template_status(engine, template) == "completed"
    assert_ledger(engine, template)


def test_a_template_started_second_is_refused_what_the_first_holds(prefect_server, engine, cli):
    org = bulk_org(engine)
    first = make_template(engine, org, make_rows(org, 10), name="First")
    second = make_template(engine, org, make_rows(org, 10, first_user=9, first_key=3000, first_number=20),
                           name="Second")
    start(engine, second)  # holds user 9, which the first template wants too
    problems = refused(cli, "template", "start", first)
    assert [(p["code"], p["row"], p["file"]) for p in problems] == [("user-reserved", 11, "users-0.csv")]
    assert f"template 'Second' ({second})" in problems[0]["message"]
    assert template_status(engine, first) == "draft"
    result = cli("template", "start", second, "--resume", "--json")
    assert result.exit_code == 0, result.output
    assert status_counts(engine, second) == {"pending": 0, "assigned": 10, "failed": 0}
    assert_invariants(engine)
    assert_ledger(engine, second)


def test_cli_exit_status_3_when_some_rows_failed(prefect_server, engine, cli):
    org = bulk_org(engine)
    template = make_template(engine, org, make_rows(org, 10))
    start(engine, template)
    take_user(engine, org, org.users[4].identity_uuid, "900")  # out of band: holds cannot stop it
    result = cli("template", "start", template, "--resume", "--json")
    assert result.exit_code == 3, result.output
    assert status_counts(engine, template) == {"pending": 0, "assigned": 9, "failed": 1}
    shown = cli("template", "report", template)
    assert "users-0.csv:6 ext 2004 " in shown.stdout and "user-assigned" in shown.stdout, shown.stdout
    assert_invariants(engine)
    assert_ledger(engine, template)


PREFLIGHT_CASES = {
    "base licenses": ({"base": 10}, [("base-licenses-insufficient", "base_licenses", None)]),
    "add-ons": ({"addons": {"Call Recording": 20, "Voicemail": 11}},
                [("addon-licenses-insufficient", "addon", None)]),
    "user assigned": ({"take_user": 3}, [("user-assigned", "User", 5)]),
    "number in use": ({"take_number": 7}, [("number-assigned", "Number", 9)]),
}


@pytest.mark.parametrize("case", list(PREFLIGHT_CASES))
def test_start_refused_by_preflight_lists_the_shortfall_and_changes_nothing(engine, cli, case):
    options, expected = PREFLIGHT_CASES[case]
    org = bulk_org(engine, base=options.get("base", 100), users=20, numbers=20, addons=options.get("addons"))
    if "take_user" in options:
        take_user(engine, org, org.users[options["take_user"]].identity_uuid, "900")
    if "take_number" in options:
        take_number(engine, org, org.numbers[options["take_number"]], "901")
    template = make_template(engine, org, make_rows(org, 12), addons=BOTH_ADDONS)
    before = inventory_state(engine, org.org_uuid)

    with pytest.raises(Refused) as refusal:
        start_job(engine, template)

    assert [(p.code, p.field, p.row) for p in refusal.value.problems] == expected
    problems = refused(cli, "template", "start", template)
    assert [p["code"] for p in problems] == [code for code, _, _ in expected]
    assert template_status(engine, template) == "draft"
    assert inventory_state(engine, org.org_uuid) == before
    assert status_counts(engine, template) == {"pending": 12, "assigned": 0, "failed": 0}
    message = refusal.value.problems[0].message
    if case == "base licenses":
        assert "Needs 12" in message and "10 available (short by 2)" in message
    if case == "add-ons":
        assert "'Voicemail'" in message and "11 available (short by 1)" in message
    if case == "user assigned":
        assert "already has extension 900" in message
    for problem in (p for p in problems if p.get("row")):  # a row is named by its file and row
        assert problem["file"] == "users-0.csv"
        text = cli("template", "start", template)
        assert f"users-0.csv:{problem['row']}: {problem['code']}" in text.stderr, text.stderr


def test_preflight_reports_every_shortfall_at_once(engine):
    org = bulk_org(engine, base=11, users=20, numbers=20, addons={"Call Recording": 5, "Voicemail": 8})
    take_user(engine, org, org.users[2].identity_uuid, "900")
    take_number(engine, org, org.numbers[4], "901")
    template = make_template(engine, org, make_rows(org, 12), addons=BOTH_ADDONS)
    with pytest.raises(Refused) as refusal:
        start_job(engine, template)
    assert [(p.code, p.value, p.row) for p in refusal.value.problems] == [
        ("base-licenses-insufficient", "12", None), ("addon-licenses-insufficient", "Call Recording", None),
        ("addon-licenses-insufficient", "Voicemail", None), ("user-assigned", None, 4),
        ("number-assigned", None, 6)]
    assert template_status(engine, template) == "draft"


def test_dry_run_shows_the_plan_and_changes_nothing(engine, cli):
    org = bulk_org(engine, base=50, users=20, numbers=20)
    rows = some_without_number(make_rows(org, 12))
    template = make_template(engine, org, rows, addons=("Voicemail",))
    before = inventory_state(engine, org.org_uuid)

    plan = start_job(engine, template, dry_run=True)

    assert plan.dry_run is True and plan.problems == () and plan.held is None
    assert [(r.ext_key, r.number, r.addons, r.ok) for r in plan.rows] == [
        (r["ext_key"], r["number"], ("Voicemail",), True) for r in rows]
    assert plan.as_dict()["pools"] == {"base_licenses": {"available_before": 50, "available_after": 38},
                                       "Voicemail": {"available_before": 1000, "available_after": 988}}
    shown = cli("template", "start", template, "--dry-run", "--json")
    assert shown.exit_code == 0, shown.output
    take_user(engine, org, rows[3]["identity_uuid"], "900")
    before = inventory_state(engine, org.org_uuid)
    failing = start_job(engine, template, dry_run=True)
    assert [(p.code, p.row) for p in failing.problems] == [("user-assigned", 5)]
    assert [r.ok for r in failing.rows].count(False) == 1
    assert cli("template", "start", template, "--dry-run", "--json").exit_code == 1
    assert "users-0.csv:5: user-assigned" in cli("template", "start", template, "--dry-run").stderr
    assert template_status(engine, template) == "draft"
    assert inventory_state(engine, org.org_uuid) == before


def test_a_second_start_is_refused_and_a_completed_template_can_be_duplicated(
        prefect_server, engine, cli):
    org = bulk_org(engine)
    rows = make_rows(org, 30)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    start(engine, template)
    with pytest.raises(Refused) as again:
        start(engine, template)
    assert [p.code for p in again.value.problems] == ["template-action-not-allowed"]
    assert [p["code"] for p in refused(cli, "template", "start", template)] == ["template-action-not-allowed"]

    assert run(template).is_completed()
    assert [p["code"] for p in refused(cli, "template", "start", template)] == ["template-action-not-allowed"]
    # Every row was just assigned: a copy could only fail again, so it is refused with the reason.
    nothing = refused(cli, "template", "duplicate", template)
    assert [p["code"] for p in nothing] == ["template-nothing-to-assign"]
    assert "30 user-assigned" in nothing[0]["message"]
    assert [p["code"] for p in refused(cli, "template", "duplicate", template, "--failed-only")] == [
        "template-no-failed-rows"]
    for row in rows[:5]:  # the admin deletes five of the extensions: those rows can be assigned again
        ok(cli, "ext", "delete", org.org_uuid, row["ext_key"])
    copy = ok(cli, "template", "duplicate", template)
    assert copy["status"] == "draft" and copy["source"] == template
    assert (copy["total_users"], copy["left_out"]) == (5, {"user-assigned": 25})
    assert ok(cli, "template", "show", copy["uuid"])["addons"] == ["Voicemail"]
    assert [(u["ext_key"], u["identity_uuid"], u["number"]) for u in template_users(engine, copy["uuid"])] == [
        (r["ext_key"], r["identity_uuid"], r["number"]) for r in rows[:5]]
    start(engine, copy["uuid"])
    assert template_status(engine, template) == "completed"


def test_the_flow_for_an_empty_draft_fails_and_leaves_it_a_draft(prefect_server, engine, phonesys_env):
    """Run by hand from the UI with the UUID of a draft never started: the state machine holds."""
    from phonesys.storage.inventory.templates import create_template

    org = bulk_org(engine)
    template = create_template(engine, org.org_uuid, "Empty", []).uuid
    state = run(template)
    assert state.is_failed()
    assert "template-not-in-progress" in str(state.message)
    assert template_status(engine, template) == "draft"
