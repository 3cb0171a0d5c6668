"""``phonesys org load FILE``: JSON and YAML documents, reloads that raise and lower counts, additive
numbers and users, documents that report every problem at once, and isolation between orgs."""

from __future__ import annotations

import json

import pytest
import yaml

from phonesys.rules.errors import NotFound
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.views import show_extension
from tests.cliassert import ok
from tests.cliassert import refused as refused_problems
from tests.conftest import make_document

ORG = "5e1f0c1a-0000-4000-8000-00000000000a"
OTHER = "5e1f0c1a-0000-4000-8000-00000000000b"
U = [f"a7000000-0000-4000-8000-00000000000{i}" for i in range(6)]


def document(**changes) -> dict:
    base = {"org_uuid": ORG, "name": "Acme", "base_licenses": 5,
            "addons": {"Call Recording": 2, "Voicemail": 1},
            "numbers": ["+6560000001", "+6560000002"],
            "users": [{"identity_uuid": U[0], "name": "Tony Tan"}, {"identity_uuid": U[1], "name": "Mei Lin"}]}
    return {**base, **changes}


@pytest.fixture
def write(tmp_path):
    """Write a document (dict -> JSON/YAML, str or bytes as is) and return its path as text."""
    counter = iter(range(1000))

    def write_file(content, suffix: str = ".json") -> str:
        path = tmp_path / f"org{next(counter)}{suffix}"
        if isinstance(content, dict):
            content = yaml.safe_dump(content) if suffix in {".yaml", ".yml"} else json.dumps(content)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return str(path)

    return write_file


def refused(cli, *args: str) -> list[tuple[str, str | None]]:
    return [(p["code"], p.get("field")) for p in refused_problems(cli, *args)]


def state(cli, *orgs: str) -> list:
    return [ok(cli, "org", "list")] + [(ok(cli, "org", "show", o), ok(cli, "ext", "list", o)) for o in orgs]


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_load_creates_then_updates(cli, write, suffix):
    path = write(document(), suffix)
    assert ok(cli, "org", "load", path) == {"org_uuid": ORG, "created": True, "numbers": 2, "users": 2}
    assert ok(cli, "org", "show", ORG) == {
        "org_uuid": ORG, "name": "Acme",
        "base_licenses": {"total": 5, "used": 0, "held": 0, "available": 5},
        "addons": {"Call Recording": {"total": 2, "used": 0, "held": 0, "available": 2},
                   "Voicemail": {"total": 1, "used": 0, "held": 0, "available": 1}},
        "numbers": {"total": 2, "assigned": 0, "held": 0, "available": 2},
        "users": {"total": 2, "assigned": 0, "held": 0, "unassigned": 2},
        "extensions": {"total": 0, "with_user": 0, "without_user": 0},
    }
    assert ok(cli, "org", "load", path)["created"] is False
    assert ok(cli, "org", "show", ORG)["numbers"]["total"] == 2
    text = cli("org", "load", path)
    assert text.exit_code == 0 and f"Updated organization {ORG}" in text.stdout


def test_yaml_written_by_hand(cli, write):
    path = write(f"""
# Acme's purchase
org_uuid: "{ORG.upper()}"
name: Acme
base_licenses: 3
addons:
  Call Recording: 1
numbers:
  - "+6560000001"
  - "65 6000 0002"
  - +6560000003
users:
  - identity_uuid: {U[0]}
    name: Tony Tan
""", ".yaml")
    assert ok(cli, "org", "load", path)["org_uuid"] == ORG
    ok(cli, "provision", ORG, "-n", "1", "-s", "101")
    assert ok(cli, "ext", "set-number", ORG, "101", "+6560000002")["number"] == "+6560000002"
    assert ok(cli, "ext", "assign-user", ORG, "101", "tony tan")["user"]["identity_uuid"] == U[0]
    assert ok(cli, "org", "show", ORG)["numbers"]["total"] == 3  # unquoted YAML number read as a number


def test_values_are_canonicalised(cli, write):
    doc = document(org_uuid="{" + ORG.upper() + "}", numbers=["6560000001", " +65 6000 0002 "],
                   users=[{"identity_uuid": U[0].upper(), "name": "  Tony   Tan "}],
                   addons={"  Call   Recording ": 2})
    assert ok(cli, "org", "load", write(doc))["org_uuid"] == ORG
    assert list(ok(cli, "org", "show", ORG)["addons"]) == ["Call Recording"]
    ok(cli, "provision", ORG, "-n", "1", "-s", "101")
    assert ok(cli, "ext", "set-number", ORG, "101", "+6560000002")["number"] == "+6560000002"
    assert ok(cli, "ext", "assign-user", ORG, "101", U[0])["user"]["name"] == "Tony Tan"


def test_json_with_utf8_bom(cli, write):
    path = write(b"\xef\xbb\xbf" + json.dumps(document(name="Caf\u00e9")).encode())
    ok(cli, "org", "load", path)
    assert ok(cli, "org", "show", ORG)["name"] == "Caf\u00e9"


@pytest.fixture
def in_use(cli, write):
    """Acme with 2 of 5 base licenses, 1 of 2 Call Recording and 1 of 1 Voicemail in use."""
    ok(cli, "org", "load", write(document()))
    ok(cli, "provision", ORG, "-n", "2", "-s", "101")
    ok(cli, "ext", "set-addons", ORG, "101", "Call Recording", "Voicemail")
    return ORG


def test_reload_raises_and_lowers_counts(cli, write, in_use):
    ok(cli, "org", "load", write(document(base_licenses=50, addons={"Call Recording": 10, "Voicemail": 3})))
    figures = ok(cli, "org", "show", ORG)
    assert figures["base_licenses"] == {"total": 50, "used": 2, "held": 0, "available": 48}
    assert figures["addons"]["Call Recording"] == {"total": 10, "used": 1, "held": 0, "available": 9}
    # lowering down to exactly what is in use is allowed
    ok(cli, "org", "load", write(document(base_licenses=2, addons={"Call Recording": 1, "Voicemail": 1})))
    figures = ok(cli, "org", "show", ORG)
    assert figures["base_licenses"] == {"total": 2, "used": 2, "held": 0, "available": 0}
    assert figures["addons"]["Call Recording"] == {"total": 1, "used": 1, "held": 0, "available": 0}
    assert refused(cli, "provision", ORG, "-n", "1", "-s", "200") == [("base-licenses-insufficient", "count")]


def test_reload_adds_a_new_addon_and_keeps_unlisted_ones(cli, write, in_use):
    ok(cli, "org", "load", write(document(addons={"Fax": 4})))
    addons = ok(cli, "org", "show", ORG)["addons"]
    assert addons == {"Call Recording": {"total": 2, "used": 1, "held": 0, "available": 1},
                      "Fax": {"total": 4, "used": 0, "held": 0, "available": 4},
                      "Voicemail": {"total": 1, "used": 1, "held": 0, "available": 0}}
    ok(cli, "org", "load", write(document(addons={"Fax": 0})))
    assert ok(cli, "org", "show", ORG)["addons"]["Fax"]["total"] == 0


@pytest.mark.parametrize("changes, expected", [
    ({"base_licenses": 1}, [("base-licenses-below-used", "base_licenses")]),
    ({"base_licenses": 0}, [("base-licenses-below-used", "base_licenses")]),
    ({"addons": {"Voicemail": 0}}, [("addon-licenses-below-used", "addons.Voicemail")]),
    ({"addons": {"Call Recording": 0, "Voicemail": 1}}, [("addon-licenses-below-used", "addons.Call Recording")]),
    ({"base_licenses": 1, "addons": {"Call Recording": 0, "Voicemail": 0}},
     [("base-licenses-below-used", "base_licenses"), ("addon-licenses-below-used", "addons.Call Recording"),
      ("addon-licenses-below-used", "addons.Voicemail")]),
])
def test_lowering_below_used_is_refused_and_changes_nothing(cli, write, in_use, changes, expected):
    before = state(cli, ORG)
    # the refused document also renames the org and adds a number and a user: none of it may stick
    doc = document(name="Renamed", numbers=["+6560000009"], users=[{"identity_uuid": U[5], "name": "New"}],
                   **changes)
    assert refused(cli, "org", "load", write(doc)) == expected
    assert state(cli, ORG) == before


def test_numbers_and_users_are_only_added(cli, write):
    ok(cli, "org", "load", write(document()))
    ok(cli, "org", "load", write(document(numbers=["+6560000003"],
                                          users=[{"identity_uuid": U[2], "name": "Ana Lim"}])))
    figures = ok(cli, "org", "show", ORG)
    assert (figures["numbers"]["total"], figures["users"]["total"]) == (3, 3)
    ok(cli, "org", "load", write(document(numbers=[], users=[])))
    figures = ok(cli, "org", "show", ORG)
    assert (figures["numbers"]["total"], figures["users"]["total"]) == (3, 3)
    ok(cli, "provision", ORG, "-n", "1", "-s", "101")
    assert ok(cli, "ext", "set-number", ORG, "101", "+6560000001")["number"] == "+6560000001"
    assert ok(cli, "ext", "assign-user", ORG, "101", "Mei Lin")["user"]["identity_uuid"] == U[1]


def test_reload_renames_a_user(cli, write):
    ok(cli, "org", "load", write(document()))
    ok(cli, "provision", ORG, "-n", "1", "-s", "101")
    ok(cli, "ext", "assign-user", ORG, "101", U[0])
    ok(cli, "org", "load", write(document(users=[{"identity_uuid": U[0], "name": "Anthony Tan"}])))
    shown = ok(cli, "ext", "show", ORG, "101")
    assert shown["user"]["name"] == shown["directory_name"] == "Anthony Tan"


BAD_DOCUMENTS = [
    # (id, content, suffix, [(code, field)])
    ("broken json", '{"org_uuid": "x",', ".json", [("document-unreadable", "file")]),
    ("trailing comma", '{"org_uuid": "x",}', ".json", [("document-unreadable", "file")]),
    ("empty json", "", ".json", [("document-unreadable", "file")]),
    ("broken yaml", "org_uuid: [1, 2\nname: x\n", ".yaml", [("document-unreadable", "file")]),
    ("not utf-8", b'{"name": "Caf\xe9"}', ".json", [("document-unreadable", "file")]),
    ("a list", "[]", ".json", [("document-invalid", "document")]),
    ("empty yaml", "", ".yaml", [("document-invalid", "document")]),
    ("unknown field", document(colour="red"), ".json", [("document-invalid", "colour")]),
    ("unknown user field", document(users=[{"identity_uuid": U[0], "name": "A", "email": "a@b"}]), ".json",
     [("document-invalid", "users.0.email")]),
    ("missing fields", {"org_uuid": ORG}, ".json",
     [("document-invalid", "name"), ("document-invalid", "base_licenses")]),
    ("user without name", document(users=[{"identity_uuid": U[0]}]), ".json", [("document-invalid", "users.0.name")]),
    ("negative base", document(base_licenses=-1), ".json", [("document-invalid", "base_licenses")]),
    ("base not a number", document(base_licenses="five"), ".json", [("document-invalid", "base_licenses")]),
    ("number as json float", document(numbers=[6.56e9]), ".json", [("document-invalid", "numbers.0")]),
    ("empty org name", document(name=""), ".json", [("document-invalid", "name")]),
    ("negative addon", document(addons={"Fax": -2}), ".json", [("document-invalid", "addons.Fax")]),
    ("addon listed twice", document(addons={"Fax": 1, " Fax ": 2}), ".json", [("addon-duplicate", "addons. Fax ")]),
    ("blank addon", document(addons={" ": 1}), ".json", [("addon-sku-invalid", "addons. ")]),
    ("bad org uuid", document(org_uuid="acme"), ".json", [("uuid-invalid", "org_uuid")]),
    ("bad user uuid", document(users=[{"identity_uuid": U[0], "name": "A"}, {"identity_uuid": "u-2", "name": "B"}]),
     ".json", [("uuid-invalid", "users.1.identity_uuid")]),
    ("blank user name", document(users=[{"identity_uuid": U[0], "name": "  "}]), ".json",
     [("user-name-required", "users.0.name")]),
    ("bad numbers", document(numbers=["+6560000001", "abc", "6.56E+09", "+1"]), ".json",
     [("number-format", "numbers.1"), ("number-scientific-notation", "numbers.2"), ("number-invalid", "numbers.3")]),
    ("duplicate numbers", document(numbers=["+6560000001", "65 6000 0001", "+6560000001"]), ".json",
     [("number-duplicate", "numbers.1"), ("number-duplicate", "numbers.2")]),
    ("duplicate users", document(users=[{"identity_uuid": U[0], "name": "A"}, {"identity_uuid": U[0].upper(), "name": "B"}]),
     ".json", [("user-duplicate", "users.1")]),
    ("everything at once", document(org_uuid="acme", numbers=["x1", "+6560000001", "+6560000001"],
                                    users=[{"identity_uuid": "nope", "name": ""}, {"identity_uuid": U[0], "name": "A"},
                                           {"identity_uuid": U[0], "name": "B"}]), ".json",
     [("uuid-invalid", "org_uuid"), ("number-format", "numbers.0"), ("number-duplicate", "numbers.2"),
      ("uuid-invalid", "users.0.identity_uuid"), ("user-name-required", "users.0.name"), ("user-duplicate", "users.2")]),
    ("structure and values at once", document(colour="red", base_licenses=-3, numbers=["abc", 7],
                                              users=[{"identity_uuid": "nope", "name": "A"}, {"name": "B"}]), ".json",
     [("document-invalid", "base_licenses"), ("document-invalid", "users.1.identity_uuid"),
      ("document-invalid", "colour"), ("number-format", "numbers.0"), ("number-invalid", "numbers.1"),
      ("uuid-invalid", "users.0.identity_uuid")]),
    ("yaml unquoted scientific", "org_uuid: " + ORG + "\nname: A\nbase_licenses: 1\nnumbers: ['6.56E+09', abc]\n",
     ".yaml", [("number-scientific-notation", "numbers.0"), ("number-format", "numbers.1")]),
]


@pytest.mark.parametrize("content, suffix, expected", [c[1:] for c in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS])
def test_invalid_document_reports_every_problem_and_changes_nothing(cli, write, engine, content, suffix, expected):
    load_org(engine, make_document(OTHER, number_prefix="+656"))  # an org that must stay as it is
    before = state(cli, OTHER)
    assert refused(cli, "org", "load", write(content, suffix)) == expected
    assert state(cli, OTHER) == before


def test_missing_file(cli, tmp_path):
    assert refused(cli, "org", "load", str(tmp_path / "nope.json")) == [("file-not-found", "file")]


def test_number_or_user_of_another_org_is_refused(cli, write):
    ok(cli, "org", "load", write(document()))
    theirs = document(org_uuid=OTHER, name="Other", numbers=["+6560000002", "+6560000077"],
                      users=[{"identity_uuid": U[1], "name": "Mei Lin"}, {"identity_uuid": U[4], "name": "Bo"}])
    before = state(cli, ORG)
    assert refused(cli, "org", "load", write(theirs)) == [("number-owned-by-other-org", "numbers"),
                                                         ("user-in-other-org", "Identity UUID")]
    assert state(cli, ORG) == before  # and the other org was not created
    assert refused(cli, "org", "show", OTHER) == [("org-not-found", "org")]
    # the same refusal for an existing org's reload
    ok(cli, "org", "load", write(document(org_uuid=OTHER, name="Other", numbers=[], users=[])))
    before = state(cli, ORG, OTHER)
    assert refused(cli, "org", "load", write(theirs)) == [("number-owned-by-other-org", "numbers"),
                                                         ("user-in-other-org", "Identity UUID")]
    assert state(cli, ORG, OTHER) == before


def test_two_orgs_stay_isolated(cli, write, engine):
    """Same add-on names, same user names, same ext keys: each org only ever sees its own."""
    ok(cli, "org", "load", write(document()))
    ok(cli, "org", "load", write(document(org_uuid=OTHER, name="Other", numbers=["+6560000011"],
                                          users=[{"identity_uuid": U[3], "name": "Tony Tan"}])))
    for org in (ORG, OTHER):
        ok(cli, "provision", org, "-n", "1", "-s", "101")
        ok(cli, "ext", "assign-user", org, "101", "Tony Tan")
    assert ok(cli, "ext", "show", ORG, "101")["user"]["identity_uuid"] == U[0]
    assert ok(cli, "ext", "show", OTHER, "101")["user"]["identity_uuid"] == U[3]

    other_before = state(cli, OTHER)
    ok(cli, "provision", ORG, "-n", "2", "-s", "102")
    ok(cli, "ext", "set-addons", ORG, "101", "Voicemail", "Call Recording")
    ok(cli, "ext", "set-number", ORG, "101", "+6560000001")
    ok(cli, "ext", "edit", ORG, "102", "--key", "202", "--name", "Desk")
    ok(cli, "ext", "delete", ORG, "103")
    ok(cli, "org", "load", write(document(base_licenses=9)))
    assert state(cli, OTHER)[1:] == other_before[1:]

    # org A's extension 202 cannot be seen or changed through org B's UUID
    for args in (("ext", "show", OTHER, "202"), ("ext", "delete", OTHER, "202"),
                 ("ext", "edit", OTHER, "202", "--name", "x"), ("ext", "unassign-user", OTHER, "202"),
                 ("ext", "set-addons", OTHER, "202"), ("ext", "set-number", OTHER, "202", "--clear")):
        assert refused(cli, *args) == [("extension-not-found", "ext")]
    assert refused(cli, "ext", "set-number", OTHER, "101", "+6560000002") == [("number-not-owned", "number")]
    assert refused(cli, "ext", "assign-user", OTHER, "101", U[1]) == [("user-not-found", "user")]
    with pytest.raises(NotFound):
        show_extension(engine, OTHER, "202")
    assert ok(cli, "ext", "show", ORG, "202")["directory_name"] == "Desk"
