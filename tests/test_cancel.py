"""Cancelling a template in progress (both databases): every hold is released, the rows done are kept
(or, with --revert, reverted), the template ends with a report, and a run still going changes nothing."""

from __future__ import annotations

from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.jobs import complete_job, pending_row_ids, status_counts
from phonesys.storage.inventory.undo import undo_job
from phonesys.storage.inventory.usage import org_usage
from tests.bulkfixtures import bulk_org, ledger, make_rows, make_template, start, template_status
from tests.cliassert import ok, refused
from tests.invariants import assert_invariants, assert_ledger


def half_done(engine, org, count: int = 10) -> tuple[str, list[int]]:
    """A started template whose first half is assigned; returns it and its rows' ids."""
    template = make_template(engine, org, make_rows(org, count, first_key=600), addons=("Voicemail",))
    start(engine, template, chunk_size=5, policy="all-or-nothing")
    row_ids = pending_row_ids(engine, template)
    assign_chunk(engine, template, row_ids[:count // 2])
    return template, row_ids


def test_cancel_releases_every_hold_keeps_what_is_done_and_reports(engine, cli, phonesys_env):
    org = bulk_org(engine, base=50, users=20, numbers=20)
    template, row_ids = half_done(engine, org)
    result = ok(cli, "template", "cancel", template)
    assert (result["assigned"], result["cancelled"], result["released"]) == (5, 5, 5)
    assert result["report"].endswith("_license_phonesystem_bulk_assignment_report.csv")
    usage = org_usage(engine, org.org_uuid).as_dict()
    assert usage["base_licenses"]["held"] == 0 and usage["addons"]["Voicemail"]["held"] == 0
    assert usage["numbers"]["held"] == 0 and usage["users"]["held"] == 0
    assert usage["base_licenses"]["used"] == 5
    rows = ledger(engine, template)
    assert sorted(entry["code"] or "" for entry in rows.values()) == [""] * 5 + ["template-cancelled"] * 5
    assert template_status(engine, template) == "completed"
    assert_invariants(engine)
    assert_ledger(engine, template)
    # a run still going: its next chunk, its all-or-nothing undo and its completion change nothing
    assert assign_chunk(engine, template, row_ids[5:]).assigned == 0
    assert undo_job(engine, template) == 0 and complete_job(engine, template, None, None)
    assert status_counts(engine, template) == {"pending": 0, "assigned": 5, "failed": 5}
    assert [e["action"] for e in ok(cli, "audit", org.org_uuid, "--template", template,
                                    "--action", "template.cancel")["events"]] == ["template.cancel"]


def test_cancel_then_revert_leaves_the_pools_as_before(engine, cli, prefect_api_url):
    org = bulk_org(engine, base=50, users=20, numbers=20)
    before = org_usage(engine, org.org_uuid).as_dict()
    template, _ = half_done(engine, org)
    result = ok(cli, "template", "cancel", template, "--revert")
    assert result["counts"]["reverted"] == 5
    after = org_usage(engine, org.org_uuid).as_dict()
    assert after == before
    assert_invariants(engine)


def test_only_a_template_in_progress_can_be_cancelled(engine, cli):
    org = bulk_org(engine, base=50, users=20, numbers=20)
    draft = make_template(engine, org, make_rows(org, 2, first_key=700))
    assert [p["code"] for p in refused(cli, "template", "cancel", draft)] == ["template-action-not-allowed"]


def test_show_and_list_say_a_template_was_cancelled_and_reverted(engine, cli, prefect_api_url):
    org = bulk_org(engine, base=50, users=20, numbers=20)
    template, _ = half_done(engine, org)
    ok(cli, "template", "cancel", template)
    shown = ok(cli, "template", "show", template)
    assert (shown["status"], shown["cancelled"], shown["revert"]) == ("completed", True, None)
    ok(cli, "template", "revert", template)
    listed = {t["uuid"]: t for t in ok(cli, "template", "list", org.org_uuid)["templates"]}
    assert (listed[template]["cancelled"], listed[template]["revert"]) == (True, "reverted")
    text = cli("template", "show", template)
    assert "completed (cancelled, reverted)" in text.stdout
