"""The audit log: every change writes exactly its events (who, what, before, after) in the change's own
transaction; a refused change writes none; the log is append-only in the database itself; reading it
back by organization, filter and extension (across key changes) works on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.audit import acting
from phonesys.storage.inventory.audit_retention import prune
from phonesys.storage.inventory.jobs import complete_job, pending_row_ids
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.schema import template_rows
from phonesys.storage.inventory.schema_audit import audit_events
from tests.bulkfixtures import make_rows, make_template, start
from tests.cliassert import ok, refused
from tests.conftest import make_document

ACTOR = "cli:auditor"


@pytest.fixture
def as_auditor(monkeypatch):
    monkeypatch.setenv("PHONESYS_ACTOR", ACTOR)


def events(engine, **where) -> list:
    query = select(audit_events).order_by(audit_events.c.id)
    for column, value in where.items():
        query = query.where(audit_events.c[column] == value)
    with engine.connect() as connection:
        return connection.execute(query).all()


def test_each_ext_command_records_one_event_with_before_and_after(engine, org, cli, as_auditor):
    user, number = org.users[0], org.numbers[0]
    ok(cli, "provision", org.org_uuid, "--start", "101")
    ok(cli, "ext", "assign-user", org.org_uuid, "101", user.identity_uuid)
    ok(cli, "ext", "set-number", org.org_uuid, "101", number)
    ok(cli, "ext", "set-addons", org.org_uuid, "101", "Voicemail")
    ok(cli, "ext", "edit", org.org_uuid, "101", "--key", "201", "--name", "Front desk")
    ok(cli, "ext", "unassign-user", org.org_uuid, "201")
    ok(cli, "ext", "delete", org.org_uuid, "201")
    found = [e for e in events(engine, org_uuid=org.org_uuid) if e.target_type == "extension"]
    assert [e.action for e in found] == ["ext.provision", "ext.assign-user", "ext.set-number", "ext.set-addons",
                                         "ext.edit", "ext.unassign-user", "ext.delete"]
    assert {e.actor for e in found} == {ACTOR} and len({e.extension_id for e in found}) == 1
    changes = [(json.loads(e.before) if e.before else None, json.loads(e.after) if e.after else None) for e in found]
    assert changes[0][0] is None and changes[0][1]["key"] == "101" and changes[0][1]["user"] is None
    assert (changes[1][0]["user"], changes[1][1]["user"]) == (None, user.identity_uuid)
    assert changes[1][1]["user_name"] == user.name
    assert (changes[2][0]["number"], changes[2][1]["number"]) == (None, number)
    assert (changes[3][0]["addons"], changes[3][1]["addons"]) == ([], ["Voicemail"])
    assert (changes[4][0]["key"], changes[4][1]["key"], changes[4][1]["directory_name"]) == ("101", "201", "Front desk")
    assert [e.target for e in found] == ["101", "101", "101", "101", "201", "201", "201"]
    assert changes[6][1] is None and changes[6][0]["number"] == number
    assert len({e.correlation for e in found}) == 1, "one CLI process: one correlation"


def test_a_refused_change_records_nothing(engine, org, cli, as_auditor):
    ok(cli, "provision", org.org_uuid, "--start", "101")
    before = len(events(engine))
    refused(cli, "ext", "set-number", org.org_uuid, "101", "+15555550100")  # not the org's number
    refused(cli, "provision", org.org_uuid, "--start", "101")  # key taken
    refused(cli, "ext", "assign-user", org.org_uuid, "101", str(uuid.uuid4()))
    assert len(events(engine)) == before


def test_the_log_refuses_update_and_delete_inside_the_retention(engine, org):
    newest = events(engine)[-1].id
    for statement in (update(audit_events).where(audit_events.c.id == newest).values(actor="someone-else"),
                      delete(audit_events).where(audit_events.c.id == newest)):
        with pytest.raises(DBAPIError, match="audit-append-only"):
            with engine.begin() as connection:
                connection.execute(statement)
    assert events(engine)[-1].actor != "someone-else"


def test_prune_deletes_only_past_the_retention_and_records_itself(engine, org):
    old = datetime.now(UTC) - timedelta(days=40)
    with engine.begin() as connection:  # an INSERT is allowed: the log is append-only, not write-once
        connection.execute(insert(audit_events).values(
            at=old if engine.dialect.name == "postgresql" else old.replace(tzinfo=None),
            actor="cli:past", action="ext.edit", org_uuid=org.org_uuid, target_type="extension", target="999"))
    kept = len(events(engine))
    assert prune(engine, 365).deleted == 0
    result = prune(acting(engine, "cli:ops"), 30)
    assert (result.deleted, result.previous_days, result.retention_days) == (1, 365, 30)
    assert not events(engine, actor="cli:past")
    assert [e.action for e in events(engine, actor="cli:ops")] == ["audit.retention", "audit.prune"]
    assert len(events(engine)) == kept - 1 + 3  # the first prune's event, and the second's two


def test_a_user_named_outside_ascii_is_found_in_bulk_and_single_events(engine, cli):
    """Bulk events' snapshots are built by the database (non-ASCII kept as is), single changes' by
    Python (escaped): ``audit --user NAME`` finds both."""
    drawn = make_document()
    names = ["Zoë Ångström", "José Müller"]
    users = [user.model_copy(update={"name": names[i]}) if i < 2 else user for i, user in enumerate(drawn.users)]
    org = drawn.model_copy(update={"users": users})
    load_org(engine, org)
    template = make_template(engine, org, make_rows(org, 1, first_key=300))
    start(engine, template)
    assign_chunk(engine, template, pending_row_ids(engine, template))
    ok(cli, "provision", org.org_uuid, "--start", "101")
    ok(cli, "ext", "assign-user", org.org_uuid, "101", org.users[1].identity_uuid)
    for name, action, target in zip(names, ("bulk.assign", "ext.assign-user"), ("300", "101"), strict=True):
        found = ok(cli, "audit", org.org_uuid, "--user", name)["events"]
        assert [(e["action"], e["target"]) for e in found] == [(action, target)], name


def test_bulk_rows_are_recorded_as_whoever_started_the_template(engine, org):
    alice = acting(engine, "cli:alice")
    rows = make_rows(org, 3, first_key=300)
    template = make_template(alice, org, rows, addons=("Call Recording",))
    start(alice, template, chunk_size=2)
    row_ids = pending_row_ids(engine, template)
    assign_chunk(engine, template, row_ids[:2])  # a worker: no actor of its own
    assign_chunk(engine, template, row_ids[2:])
    assert complete_job(engine, template, None, None)
    found = events(engine, template_uuid=template)
    assert [e.action for e in found] == ["template.create", "template.upload", "template.start",
                                         *["bulk.assign"] * 3, "template.complete"]
    assert {e.actor for e in found} == {"cli:alice"}
    bulk = [e for e in found if e.action == "bulk.assign"]
    with engine.connect() as connection:
        made = dict(connection.execute(select(template_rows.c.ext_key, template_rows.c.extension_id).where(
            template_rows.c.template_uuid == template)).all())
    assert {e.target: e.extension_id for e in bulk} == made
    after = json.loads(bulk[0].after)
    assert after == {"addons": ["Call Recording"], "directory_name": None, "key": rows[0]["ext_key"],
                     "number": rows[0]["number"], "user": rows[0]["identity_uuid"], "user_name": rows[0]["user_name"]}


def test_a_refused_start_is_recorded_as_refused(engine, org, cli, as_auditor):
    rows = make_rows(org, 2, first_key=300)
    template = make_template(engine, org, rows)
    ok(cli, "provision", org.org_uuid, "--start", "300")  # the first row's key is taken now
    refused(cli, "template", "start", template)
    found = events(engine, template_uuid=template, action="template.start")
    assert found and {e.outcome for e in found} == {"refused"} and {e.actor for e in found} == {ACTOR}
    assert "ext-key-exists" in found[0].after


def test_audit_and_history_read_back_across_a_key_change(engine, org, cli, as_auditor):
    ok(cli, "provision", org.org_uuid, "--start", "101", "--count", "2")
    ok(cli, "ext", "set-number", org.org_uuid, "101", org.numbers[1])
    ok(cli, "ext", "edit", org.org_uuid, "101", "--key", "301")
    ok(cli, "ext", "set-number", org.org_uuid, "102", org.numbers[2])
    history = ok(cli, "ext", "history", org.org_uuid, "301")["events"]
    assert [e["action"] for e in history] == ["ext.provision", "ext.set-number", "ext.edit"]
    assert ok(cli, "ext", "history", org.org_uuid, "101")["events"] == history
    by_number = ok(cli, "audit", org.org_uuid, "--number", org.numbers[2])["events"]
    assert [(e["action"], e["target"]) for e in by_number] == [("ext.set-number", "102")]
    newest = ok(cli, "audit", org.org_uuid, "--action", "ext.provision", "--limit", "1")["events"]
    assert len(newest) == 1 and newest[0]["target"] == "102"
    assert ok(cli, "audit", org.org_uuid, "--actor", "cli:nobody")["events"] == []
    text = cli("ext", "history", org.org_uuid, "301")
    assert text.exit_code == 0 and "ext.edit" in text.stdout and "key: 101 -> 301" in text.stdout
    assert refused(cli, "audit", org.org_uuid, "--since", "yesterday")[0]["code"] == "when-invalid"



def test_the_audit_export_has_every_event_of_the_organization(engine, org, cli, as_auditor, phonesys_env):
    import csv
    from pathlib import Path

    ok(cli, "provision", org.org_uuid, "--start", "101")
    ok(cli, "ext", "set-number", org.org_uuid, "101", org.numbers[0])
    result = ok(cli, "export", "audit", org.org_uuid, "--since", "2000-01-01")
    assert result["key"].endswith("_license_phonesystem_audit.csv") and result["rows"] == len(
        events(engine, org_uuid=org.org_uuid))
    with Path(result["location"]).open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Action"] for r in rows][-2:] == ["ext.provision", "ext.set-number"]
    assert rows[-1]["Actor"] == ACTOR and json.loads(rows[-1]["After"])["number"] == org.numbers[0]
    assert rows[-1]["At (UTC)"].endswith("Z")
    assert ok(cli, "export", "audit", org.org_uuid, "--since", "2999-01-01")["rows"] == 0
    assert ok(cli, "audit", org.org_uuid, "--since", "2999-01-01")["events"] == []
    assert len(ok(cli, "audit", org.org_uuid, "--until", "2999-01-01T00:00+00:00")["events"]) == len(rows)


def test_the_ledger_checks_catch_an_audit_log_that_disagrees_with_the_rows(engine, org):
    """The invariant queries the crash and race tests rely on can fail: each audit check fires on its fault."""
    from tests.invariant_queries import ledger_violations

    template = make_template(engine, org, make_rows(org, 3, first_key=300))
    start(engine, template, chunk_size=3)
    assign_chunk(engine, template, pending_row_ids(engine, template))
    assert ledger_violations(engine, template) == []
    with engine.begin() as connection:
        first = connection.execute(select(audit_events).where(audit_events.c.action == "bulk.assign",
                                                              audit_events.c.template_uuid == template)).first()
        copy = {k: v for k, v in first._mapping.items() if k not in ("id", "at")}
        connection.execute(insert(audit_events).values(copy))  # twice for one extension
        connection.execute(update(template_rows).where(template_rows.c.extension_id == first.extension_id)
                           .values(status="failed", extension_id=None, reason_code="number-assigned",
                                   reason="made up"))  # its row no longer says it made the extension
    found = "\n".join(ledger_violations(engine, template))
    assert "one bulk.assign event per extension" in found and "no bulk.assign event without its row" in found
