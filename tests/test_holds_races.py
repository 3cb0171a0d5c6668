"""Holds under real concurrency (docs/invariants.md#holds), on SQLite and PostgreSQL, with real processes.

Starts race starts, starts race the manual commands an admin would run, and a job is killed with
SIGKILL mid-run and resumed. Whatever the interleaving: ``used + held <= total`` for every pool,
what a started template holds is refused to everyone else with a code naming it, and a template
that started never fails a row for lack of a license, number, user or key.
"""

from __future__ import annotations

import pytest

from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.usage import org_usage
from tests.bulkfixtures import (
    bulk_org,
    child_env,
    kill_at_failpoint,
    make_rows,
    make_template,
    result_of,
    spawn_flow,
    start,
    template_status,
    wait_ready,
)
from tests.invariants import assert_holds_respected, assert_ledger
from tests.test_concurrency import codes, race

pytestmark = pytest.mark.slow

RESERVED = {"user-reserved", "number-reserved", "ext-key-reserved"}
ROWS = 20


def _templates_competing(engine, org) -> dict[str, list[dict]]:
    """Four 20-row templates for an org with 60 base licenses (three fit): T0 and T1 want nothing in
    common; T2 wants one of T0's users and T3 one of T1's numbers and keys."""
    rows = {"T0": make_rows(org, ROWS, first_user=0, first_key=2000, first_number=0),
            "T1": make_rows(org, ROWS, first_user=20, first_key=3000, first_number=20),
            "T2": make_rows(org, ROWS, first_user=40, first_key=4000, first_number=40),
            "T3": make_rows(org, ROWS, first_user=60, first_key=5000, first_number=60)}
    rows["T2"][3].update(identity_uuid=rows["T0"][5]["identity_uuid"], user_name=rows["T0"][5]["user_name"])
    rows["T3"][7].update(number=rows["T1"][2]["number"], ext_key=rows["T1"][9]["ext_key"])
    return {name: {"uuid": make_template(engine, org, r, addons=("Voicemail",), name=name), "rows": r}
            for name, r in rows.items()}


def _wanted(template: dict) -> set[tuple[str, str]]:
    return {(field, row[field]) for row in template["rows"] for field in ("identity_uuid", "number", "ext_key")
            if row[field]}


def test_templates_started_together_hold_disjoint_resources_and_never_fail_a_row(
        engine, database_url, phonesys_env, prefect_api_url, tmp_path):
    org = bulk_org(engine, base=60, users=100, numbers=100)
    templates = _templates_competing(engine, org)
    outcomes = race(database_url, tmp_path / "barrier", [[["start", t["uuid"]]] for t in templates.values()])

    by_uuid = {t["uuid"]: name for name, t in templates.items()}
    won = [by_uuid[o["args"][0]] for o in outcomes if o["ok"]]
    assert 1 <= len(won) <= 3, outcomes
    for a in won:
        for b in won:
            assert a == b or not (_wanted(templates[a]) & _wanted(templates[b])), f"{a} and {b} both hold {won}"
    for o in (o for o in outcomes if not o["ok"]):
        name = by_uuid[o["args"][0]]
        assert codes(o) and codes(o) <= RESERVED | {"base-licenses-insufficient"}, o
        conflicts = any(_wanted(templates[name]) & _wanted(templates[w]) for w in won)
        assert conflicts or "base-licenses-insufficient" in codes(o), f"{name} refused for nothing: {o}"
    usage = org_usage(engine, org.org_uuid).base_licenses.as_dict()
    assert usage == {"total": 60, "used": 0, "held": ROWS * len(won), "available": 60 - ROWS * len(won)}
    assert_holds_respected(engine)

    go = tmp_path / "go"
    env = child_env(phonesys_env, prefect_api_url)
    children = [spawn_flow(templates[name]["uuid"], env, chunk_size=5, go=go, wait_at="first-chunk", pause=0.05)
                for name in won]
    wait_ready(children)
    go.touch()
    results = [result_of(child) for child in children]

    assert [r["state"] for r in results] == ["COMPLETED"] * len(won), results
    for name in won:
        assert status_counts(engine, templates[name]["uuid"]) == {"pending": 0, "assigned": ROWS, "failed": 0}
    assert org_usage(engine, org.org_uuid).base_licenses.as_dict() == {
        "total": 60, "used": ROWS * len(won), "held": 0, "available": 60 - ROWS * len(won)}
    assert_ledger(engine, *(templates[name]["uuid"] for name in won))
    assert_holds_respected(engine)


def test_a_start_racing_manual_commands_either_holds_first_or_is_refused(
        engine, database_url, phonesys_env, prefect_api_url, tmp_path):
    org = bulk_org(engine, base=40, users=40, numbers=40)
    rows = make_rows(org, 30)
    template = make_template(engine, org, rows, addons=("Voicemail",))
    provision(engine, org.org_uuid, 2, "900")  # spare extensions the admin works on
    manual = [[["assign_user", org.org_uuid, "900", rows[3]["identity_uuid"]]],
              [["set_number", org.org_uuid, "901", rows[7]["number"]]],
              [["provision", org.org_uuid, 1, rows[12]["ext_key"]]],
              [["set_addons", org.org_uuid, "900", ["Voicemail"]]]]
    outcomes = race(database_url, tmp_path / "barrier", [[["start", template]], *manual])

    started, admin = outcomes[0], outcomes[1:]
    if started["ok"]:  # the start held everything first: the admin's takes were refused, naming it
        taken = [o for o in admin[:3] if o["ok"]]
        assert not taken, f"the admin took something the template holds: {taken}"
        assert [codes(o) for o in admin[:3]] == [{"user-reserved"}, {"number-reserved"}, {"ext-key-reserved"}]
        assert admin[3]["ok"], "an add-on the template does not exhaust stays available"
        assert template_status(engine, template) == "in_progress"
    else:  # the admin came first: the start is refused with exactly what was taken, and holds nothing
        # Some of the admin's takes may land only after the refused start; it names those that were in.
        assert all(o["ok"] for o in admin), admin
        taken = {"user-assigned", "number-assigned", "ext-key-exists"}
        assert codes(started) and codes(started) <= taken, started
        assert template_status(engine, template) == "draft"
    assert_holds_respected(engine)
    if started["ok"]:
        result = result_of(spawn_flow(template, child_env(phonesys_env, prefect_api_url)))
        assert result["state"] == "COMPLETED", result
        assert status_counts(engine, template) == {"pending": 0, "assigned": 30, "failed": 0}
        assert_ledger(engine, template)
        assert_holds_respected(engine)


def test_holds_survive_a_killed_job_and_the_resume_assigns_every_row(
        engine, cli, phonesys_env, prefect_api_url):
    org = bulk_org(engine, base=110)
    rows = make_rows(org, 100)
    template = make_template(engine, org, rows, addons=("Voicemail", "Call Recording"))
    start(engine, template, chunk_size=20)
    kill_at_failpoint(template, child_env(phonesys_env, prefect_api_url), "between-chunks:2")

    assert status_counts(engine, template) == {"pending": 60, "assigned": 40, "failed": 0}
    usage = org_usage(engine, org.org_uuid).as_dict()
    assert usage["base_licenses"] == {"total": 110, "used": 40, "held": 60, "available": 10}
    assert usage["addons"]["Voicemail"]["held"] == 60
    assert_holds_respected(engine)
    # While it is down, the held users, numbers and keys stay out of everyone else's reach.
    provision(engine, org.org_uuid, 1, "900")
    for args, code in ((["ext", "assign-user", org.org_uuid, "900", rows[70]["identity_uuid"]], "user-reserved"),
                       (["ext", "set-number", org.org_uuid, "900", rows[80]["number"]], "number-reserved"),
                       (["provision", org.org_uuid, "--start", rows[90]["ext_key"]], "ext-key-reserved"),
                       (["provision", org.org_uuid, "--start", "950", "--count", "10"], "base-licenses-insufficient")):
        refused = cli(*args, "--json")
        assert refused.exit_code == 1, refused.output
        assert code in refused.output and template in refused.output, refused.output

    resumed = cli("template", "start", template, "--resume", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert status_counts(engine, template) == {"pending": 0, "assigned": 100, "failed": 0}
    assert org_usage(engine, org.org_uuid).base_licenses.as_dict() == {"total": 110, "used": 101, "held": 0, "available": 9}
    assert_ledger(engine, template)
    assert_holds_respected(engine)
