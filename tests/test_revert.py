"""Reverting a completed template (both databases): what it made and nobody touched since is removed,
what changed since is kept and named (who, what, when), the pools end exactly as before the template
minus the kept extensions, the plan holds its extensions while it runs, and a manual edit racing the
revert is never lost."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select, update

from phonesys.rules.errors import Refused
from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.audit import acting, correlated, extension_snapshots
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.extensions import set_number
from phonesys.storage.inventory.jobs import complete_job, pending_row_ids
from phonesys.storage.inventory.provisioning import delete_extension
from phonesys.storage.inventory.revert import complete_revert, pending_revert_ids, revert_chunk
from phonesys.storage.inventory.revert_plan import start_revert
from phonesys.storage.inventory.schema import extensions
from phonesys.storage.inventory.schema_audit import audit_events
from phonesys.storage.inventory.usage import org_usage
from tests.bulkfixtures import bulk_org, make_rows, make_template, start
from tests.cliassert import ok, refused
from tests.invariants import assert_invariants

ROWS = 12


def completed_template(engine, org, count: int = ROWS) -> tuple[str, list[dict]]:
    alice = acting(engine, "cli:alice")
    rows = make_rows(org, count, first_key=500, first_number=0)
    template = make_template(alice, org, rows, addons=("Voicemail",))
    start(alice, template, chunk_size=5)
    assign_chunk(engine, template, pending_row_ids(engine, template))
    assert complete_job(engine, template, None, None)
    return template, rows


def run_revert(engine, template: str) -> None:
    for row_id in pending_revert_ids(engine, template):
        revert_chunk(engine, template, [row_id])
    assert complete_revert(engine, template, None)


@pytest.fixture
def big_org(engine):
    return bulk_org(engine, base=100, users=40, numbers=40)


def test_revert_removes_the_untouched_and_keeps_what_changed_since(engine, big_org):
    before = org_usage(engine, big_org.org_uuid).as_dict()
    template, rows = completed_template(engine, big_org)
    bob = acting(engine, "cli:bob")
    set_number(bob, big_org.org_uuid, rows[1]["ext_key"], None)  # changed since: kept
    delete_extension(bob, big_org.org_uuid, rows[2]["ext_key"])  # gone
    plan = start_revert(engine, template, dry_run=True)
    assert plan.remove == [r["ext_key"] for r in rows if r not in rows[1:3]]
    assert [p.code for p in plan.kept] == ["changed-since"] and [p.code for p in plan.gone] == ["extension-not-found"]
    assert "by cli:bob (ext.set-number)" in plan.kept[0].message and "number:" in plan.kept[0].message
    assert plan.pools["base_licenses"] == ROWS - 2 and plan.pools["addon:Voicemail"] == ROWS - 2
    assert not pending_revert_ids(engine, template), "a dry run holds nothing"
    start_revert(acting(engine, "cli:carol"), template)
    run_revert(engine, template)
    after = org_usage(engine, big_org.org_uuid).as_dict()
    kept_one = {"used": 1, "available": -1}  # the kept extension still uses a base license and an add-on
    assert after["base_licenses"]["used"] == before["base_licenses"]["used"] + kept_one["used"]
    assert after["addons"]["Voicemail"]["used"] == before["addons"]["Voicemail"]["used"] + 1
    assert after["numbers"]["assigned"] == before["numbers"]["assigned"], "the kept one's number was cleared"
    assert after["users"]["assigned"] == before["users"]["assigned"] + 1
    assert_invariants(engine)
    with pytest.raises(Refused) as again:
        start_revert(engine, template)
    assert again.value.problems[0].code == "template-reverted"


def test_a_revert_chunk_records_each_removed_extension_as_it_was(engine, big_org):
    """The chunk's ``bulk.revert`` events, one per removed extension in row order: before is the
    extension as ``extension_snapshots`` read it just before it went, after none, the actor whoever
    started the revert, the correlation the chunk's; a kept extension has none."""
    template, rows = completed_template(engine, big_org)
    set_number(acting(engine, "cli:bob"), big_org.org_uuid, rows[1]["ext_key"], None)  # kept
    with read_transaction(engine) as connection:
        ids = dict(connection.execute(select(extensions.c.ext_key, extensions.c.id).where(
            extensions.c.template_uuid == template)).all())
        was = extension_snapshots(connection, list(ids.values()))
    start_revert(acting(engine, "cli:carol"), template)
    revert_chunk(correlated(engine, "revert-chunk:1"), template, pending_revert_ids(engine, template))
    with read_transaction(engine) as connection:
        events = connection.execute(select(audit_events).where(audit_events.c.action == "bulk.revert")
                                    .order_by(audit_events.c.id)).all()
    removed = [row["ext_key"] for row in rows if row is not rows[1]]
    assert [(e.target, e.extension_id) for e in events] == [(key, ids[key]) for key in removed]
    assert [json.loads(e.before) for e in events] == [was[ids[key]] for key in removed]
    assert {(e.actor, e.correlation, e.org_uuid, e.template_uuid, e.target_type, e.after, e.outcome)
            for e in events} == {("cli:carol", "revert-chunk:1", big_org.org_uuid, template, "extension", None, "ok")}
    assert_invariants(engine)


def test_the_plan_holds_its_extensions_while_the_revert_runs(engine, big_org, cli):
    template, rows = completed_template(engine, big_org)
    start_revert(engine, template)
    problems = refused(cli, "ext", "set-number", big_org.org_uuid, rows[0]["ext_key"], big_org.numbers[30])
    assert [p["code"] for p in problems] == ["extension-reverting"]
    refused(cli, "ext", "delete", big_org.org_uuid, rows[0]["ext_key"])
    run_revert(engine, template)
    assert ok_keys(engine, big_org.org_uuid) == []


def test_all_or_nothing_refuses_when_anything_changed_since(engine, big_org):
    template, rows = completed_template(engine, big_org)
    set_number(engine, big_org.org_uuid, rows[0]["ext_key"], None)
    with pytest.raises(Refused) as refusal:
        start_revert(engine, template, policy="all-or-nothing")
    assert [p.code for p in refusal.value.problems] == ["changed-since"]
    assert not pending_revert_ids(engine, template)


def test_a_change_outside_phonesys_after_the_plan_is_kept_not_removed(engine, big_org):
    template, rows = completed_template(engine, big_org)
    start_revert(engine, template)
    with engine.begin() as connection:  # around the hold, as a tool writing to the table would
        connection.execute(update(extensions).where(extensions.c.org_uuid == big_org.org_uuid,
                                                    extensions.c.ext_key == rows[0]["ext_key"]).values(number=None))
    run_revert(engine, template)
    remaining = ok_keys(engine, big_org.org_uuid)
    assert remaining == [rows[0]["ext_key"]]


def ok_keys(engine, org_uuid: str) -> list[str]:
    from phonesys.storage.inventory.views import list_extensions

    return [e["ext_key"] for e in list_extensions(engine, org_uuid)]


@pytest.mark.parametrize("attempt", range(3))
def test_a_revert_racing_a_manual_edit_never_removes_the_edited_extension(engine, big_org, attempt):
    template, rows = completed_template(engine, big_org, count=4)
    key, gate, outcome = rows[attempt % 4]["ext_key"], threading.Barrier(2), {}

    def edit() -> None:
        gate.wait()
        try:
            set_number(engine, big_org.org_uuid, key, None)
            outcome["edit"] = "done"
        except Refused as refusal:
            outcome["edit"] = refusal.problems[0].code

    def revert() -> None:
        gate.wait()
        start_revert(engine, template)
        run_revert(engine, template)

    threads = [threading.Thread(target=edit), threading.Thread(target=revert)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    remaining = ok_keys(engine, big_org.org_uuid)
    if outcome["edit"] == "done":
        assert remaining == [key], "the edited extension must survive the revert"
    else:
        # refused while the revert held it, or too late: the revert had removed it already
        assert outcome["edit"] in ("extension-reverting", "extension-not-found") and remaining == []
    assert_invariants(engine)


def test_revert_through_the_cli_runs_the_flow_and_writes_its_report(engine, big_org, cli, prefect_api_url,
                                                                    phonesys_env):
    template, rows = completed_template(engine, big_org, count=5)
    set_number(engine, big_org.org_uuid, rows[0]["ext_key"], None)
    plan = ok(cli, "template", "revert", template, "--dry-run")
    assert len(plan["remove"]) == 4 and plan["kept"][0]["code"] == "changed-since"
    result = ok(cli, "template", "revert", template)
    assert result["counts"] == {"pending": 0, "reverted": 4, "kept": 1, "gone": 0}
    assert result["report"].endswith("_license_phonesystem_bulk_revert_report.csv")
    history = ok(cli, "ext", "history", big_org.org_uuid, rows[1]["ext_key"])["events"]
    assert [e["action"] for e in history] == ["bulk.assign", "bulk.revert"]
    assert history[1]["actor"].startswith("cli:")
