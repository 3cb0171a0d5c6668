"""Holds seen from every command an admin runs while a template is in progress (no flow runs here:
the template stays started, so its holds stay put). Races and crashes: ``tests/test_holds_races.py``."""

from __future__ import annotations

import json

import pytest

from tests.bulkfixtures import bulk_org, make_rows, make_template, start
from tests.cliassert import ok, refused
from tests.invariants import assert_holds_respected


@pytest.fixture
def held(engine):
    """An org (12 base licenses, Voicemail x12) and a started template 'Sales' of 10 rows with Voicemail."""
    org = bulk_org(engine, base=12, users=20, numbers=20, addons={"Voicemail": 12})
    rows = make_rows(org, 10)
    template = make_template(engine, org, rows, addons=("Voicemail",), name="Sales")
    start(engine, template)
    return org, rows, template


def test_org_show_counts_held_as_unavailable(cli, held):
    org, _, _ = held
    figures = ok(cli, "org", "show", org.org_uuid)
    assert figures["base_licenses"] == {"total": 12, "used": 0, "held": 10, "available": 2}
    assert figures["addons"]["Voicemail"] == {"total": 12, "used": 0, "held": 10, "available": 2}
    assert figures["numbers"]["held"] == 10 and figures["users"] == {"total": 20, "assigned": 0, "held": 10,
                                                                    "unassigned": 10}
    text = cli("org", "show", org.org_uuid).stdout
    assert "held" in text


def test_every_manual_command_is_refused_what_the_template_holds(cli, engine, held):
    org, rows, template = held
    A = org.org_uuid
    ok(cli, "provision", A, "--start", "900", "--addon", "Voicemail")
    naming = f"template 'Sales' ({template})"
    cases = [
        (["provision", A, "--start", "901", "--count", "2"], "base-licenses-insufficient"),
        (["provision", A, "--start", "901", "--user", rows[1]["identity_uuid"]], "user-reserved"),
        (["provision", A, "--start", rows[2]["ext_key"]], "ext-key-reserved"),
        (["ext", "assign-user", A, "900", rows[3]["user_name"]], "user-reserved"),
        (["ext", "set-number", A, "900", rows[4]["number"]], "number-reserved"),
        (["ext", "edit", A, "900", "--key", rows[5]["ext_key"]], "ext-key-reserved"),
    ]
    for args, code in cases:
        problems = refused(cli, *args)
        assert code in [p["code"] for p in problems], (args, problems)
        assert any(naming in p["message"] for p in problems), (args, problems)
    ok(cli, "provision", A, "--start", "901", "--addon", "Voicemail")  # the last free pair is not held
    assert_holds_respected(engine)


def test_set_addons_is_refused_when_only_held_licenses_are_left(cli, held):
    org, _, template = held
    A = org.org_uuid
    ok(cli, "provision", A, "--start", "900", "--count", "2")
    ok(cli, "ext", "set-addons", A, "900", "Voicemail")
    ok(cli, "ext", "set-addons", A, "901", "Voicemail")
    ok(cli, "ext", "set-addons", A, "900")  # dropping one gives it back to the pool
    problems = refused(cli, "ext", "set-addons", A, "900", "Voicemail", "Fax")
    assert [p["code"] for p in problems] == ["addon-unknown"]
    ok(cli, "ext", "set-addons", A, "900", "Voicemail")
    problems = refused(cli, "provision", A, "--start", "950", "--addon", "Voicemail")
    assert "addon-licenses-insufficient" in [p["code"] for p in problems]
    assert any("10 held by template 'Sales'" in p["message"] for p in problems), problems


@pytest.mark.parametrize("field, value, code", [
    ("base_licenses", 9, "base-licenses-below-used"),
    ("addons", {"Voicemail": 9}, "addon-licenses-below-used"),
])
def test_org_load_cannot_lower_a_count_below_what_is_held(cli, engine, held, tmp_path, field, value, code):
    org, _, template = held
    document = json.loads(org.model_dump_json())
    document[field] = value
    path = tmp_path / "org.json"
    path.write_text(json.dumps(document))
    before = ok(cli, "org", "show", org.org_uuid)
    problems = refused(cli, "org", "load", str(path))
    assert [p["code"] for p in problems] == [code]
    assert "10 held" in problems[0]["message"] and template in problems[0]["message"]
    assert ok(cli, "org", "show", org.org_uuid) == before
    assert_holds_respected(engine)
