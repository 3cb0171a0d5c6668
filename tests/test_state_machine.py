"""Random sequences of extension operations against a plain-Python model of two organizations.

Hypothesis drives provision / assign-user (by UUID and by name) / unassign-user / set-addons /
set-number / edit (key, directory name) / delete, with valid and invalid arguments, on two orgs
that share the database. The model predicts, for every call, either the result or the exact set
of problem codes of the refusal. After every step the database must equal the model (extension
list and usage figures of both orgs) and ``assert_invariants`` must hold, which also proves that
a refused call changed nothing and that a call for one org never touched the other
(docs/invariants.md#refusal-changes-nothing, docs/invariants.md#org-isolation).

More examples: ``PHONESYS_STATEFUL_EXAMPLES=500 pytest tests/test_state_machine.py``.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from phonesys.rules.errors import Refused
from phonesys.rules.orgfile import UserEntry
from phonesys.storage.inventory import extensions as ext_ops
from phonesys.storage.inventory.orgs import delete_org, load_org
from phonesys.storage.inventory.provisioning import delete_extension, provision
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import list_extensions
from tests.conftest import make_document
from tests.invariants import assert_invariants

KEY_POOL = ["100", "101", "102", "103", "104", "0100", "0101", "9999", "10000", "99999", " 101 "]
BAD_KEYS = ["", "  ", "12", "123456", "12a", "-100", "\uff11\uff10\uff11"]  # last: full-width 101
STARTS = ["100", "101", "103", " 102 ", "0100", "099", "9998", "99998"]
SKUS = ["Call Recording", "Voicemail", " Voicemail ", "Transcription", "Contact Center"]
ODD_SKUS = ["call recording", "", "\x01"]
DIRECTORY_NAMES = ["Reception", "  Front Desk  ", "", "   ", "x" * 100, " " + "y" * 100 + " ",
                   "Zo\u00eb \u540d\u524d", "\u540d" * 100, "\U0001f600" * 100]  # 100 characters, up to 400 bytes
BAD_DIRECTORY_NAMES = ["z" * 101, "\u540d" * 101, "bell\x07", "tab\there", "nul\x00"]
BAD_NUMBERS = {"6.51E+09": "number-scientific-notation", "12-34": "number-format", "": "number-format",
               "+123": "number-invalid"}
UNOWNED_NUMBER = "+442079460000"
_number_serial = itertools.count(1)
EXAMPLES = int(os.environ.get("PHONESYS_STATEFUL_EXAMPLES", "40"))


# --- the model ---------------------------------------------------------------------------------

@dataclass
class Ext:
    directory_name: str | None = None
    user: str | None = None
    number: str | None = None
    addons: set[str] = field(default_factory=set)


@dataclass
class OrgModel:
    org_uuid: str
    name: str
    base_total: int
    addon_totals: dict[str, int]
    numbers: list[str]
    users: dict[str, str]  # identity uuid -> name
    exts: dict[str, Ext] = field(default_factory=dict)

    def find_ext(self, raw_key: str) -> tuple[str | None, str | None]:
        """(key, None) for an existing extension, else (None, the refusal code)."""
        key = raw_key.strip()
        if not key:
            return None, "ext-key-required"
        if not re.fullmatch(r"[0-9]{3,5}", key):
            return None, "ext-key-format"
        return (key, None) if key in self.exts else (None, "extension-not-found")

    def resolve_user(self, ref: str) -> tuple[str | None, str | None]:
        try:
            identity = str(uuid.UUID(ref.strip()))
        except ValueError:
            wanted = " ".join(ref.split()).casefold()
            matches = [u for u, name in self.users.items() if " ".join(name.split()).casefold() == wanted]
            if len(matches) > 1:
                return None, "user-name-ambiguous"
            return (matches[0], None) if matches else (None, "user-not-found")
        return (identity, None) if identity in self.users else (None, "user-not-found")

    def holder(self, attribute: str, value: str) -> str | None:
        return next((k for k, e in self.exts.items() if getattr(e, attribute) == value), None)

    def expected_extensions(self) -> list[dict]:
        def as_dict(key: str, e: Ext) -> dict:
            user = None if e.user is None else {"identity_uuid": e.user, "name": self.users[e.user]}
            name = e.directory_name if e.directory_name is not None else user and user["name"]
            return {"ext_key": key, "directory_name": name, "user": user, "number": e.number,
                    "addons": sorted(e.addons)}
        return [as_dict(k, self.exts[k]) for k in sorted(self.exts, key=lambda k: (int(k), k))]

    def expected_usage(self) -> dict:
        def pool(total: int, used: int) -> dict:
            return {"total": total, "used": used, "held": 0, "available": total - used}
        exts = self.exts.values()
        with_user = sum(e.user is not None for e in exts)
        numbers_used = sum(e.number is not None for e in exts)
        return {
            "org_uuid": self.org_uuid, "name": self.name,
            "base_licenses": pool(self.base_total, len(self.exts)),
            "addons": {sku: pool(total, sum(sku in e.addons for e in exts))
                       for sku, total in self.addon_totals.items()},
            "numbers": {"total": len(self.numbers), "assigned": numbers_used, "held": 0,
                        "available": len(self.numbers) - numbers_used},
            "users": {"total": len(self.users), "assigned": with_user, "held": 0,
                      "unassigned": len(self.users) - with_user},
            "extensions": {"total": len(self.exts), "with_user": with_user,
                           "without_user": len(self.exts) - with_user},
        }


def provision_outcome(org: OrgModel, count: int, start: str) -> tuple[set[str], list[str]]:
    """(refusal codes, keys): the codes are empty when provisioning must succeed.

    Every problem is reported together: a bad start or count, taken keys, too few licenses.
    """
    key, codes, keys = start.strip(), set(), []
    if not key:
        codes.add("ext-key-required")
    elif not re.fullmatch(r"[0-9]{3,5}", key):
        codes.add("ext-key-format")
    if count < 1:
        codes.add("count-invalid")
    if not codes:
        keys = [str(int(key) + i).zfill(len(key)) for i in range(count)]
        if len(keys[-1]) > 5:
            codes, keys = {"ext-key-range"}, []
    if any(k in org.exts for k in keys):
        codes.add("ext-key-exists")
    if count >= 1 and org.base_total - len(org.exts) < count:
        codes.add("base-licenses-insufficient")
    return codes, keys


def text_problem(value: str, limit: int, too_long: str, control: str) -> str | None:
    if len(value) > limit:
        return too_long
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    return control if any(unicodedata.category(c) == "Cc" or c in bidi for c in value) else None


# --- the machine -------------------------------------------------------------------------------

def choose(data, label: str, *groups: tuple[int, list]):
    """Draw from ``groups`` of (weight, values), skipping empty ones; shrinks toward the first group."""
    groups = tuple((weight, values) for weight, values in groups if values)
    n = data.draw(st.integers(0, sum(weight for weight, _ in groups) - 1), label=f"{label} kind")
    for weight, values in groups:
        if n < weight:
            return data.draw(st.sampled_from(values), label=label)
        n -= weight
    raise AssertionError("unreachable")


class InventoryMachine(RuleBasedStateMachine):
    """Org A: 6 base licenses, add-ons Call Recording x2, Voicemail x1, Contact Center x0, 4 users plus
    two both named 'Dup Name'. Org B: 3 base licenses, Call Recording x1, Transcription x1, 3 users.
    Both orgs have users named 'User 000'.. and 3 numbers of their own."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine
        self.orgs: list[OrgModel] = []
        self.number_inputs: dict[str, str] = dict(BAD_NUMBERS)  # raw -> canonical number or code

    def load(self, *, base: int, addons: dict[str, int], users: int, duplicate_names: int) -> OrgModel:
        document = make_document(base=base, addons=addons, numbers=0, users=users)
        document.numbers = [f"+1650{next(_number_serial):07d}" for _ in range(3)]  # valid E.164, unique
        document.users += [UserEntry(identity_uuid=str(uuid.uuid4()), name="Dup Name")
                           for _ in range(duplicate_names)]
        load_org(self.engine, document)
        for number in document.numbers:
            self.number_inputs.update({number: number, number[1:]: number,
                                       f"{number[:2]} {number[2:5]} {number[5:]}": number})
        return OrgModel(document.org_uuid, document.name, base, dict(addons), list(document.numbers),
                        {u.identity_uuid: u.name for u in document.users})

    @initialize(first=st.integers(0, 4), second=st.integers(0, 2))
    def load_orgs(self, first, second):
        self.orgs = [self.load(base=6, addons={"Call Recording": 2, "Voicemail": 1, "Contact Center": 0},
                               users=4, duplicate_names=2),
                     self.load(base=3, addons={"Call Recording": 1, "Transcription": 1}, users=3, duplicate_names=0)]
        for org, count in zip(self.orgs, (first, second)):
            if count:
                keys = provision(self.engine, org.org_uuid, count, "100")
                org.exts.update({k: Ext() for k in keys})

    # draws that depend on the current state; the first group is the common, valid case
    def draw_org(self, data) -> tuple[OrgModel, str]:
        """An org and how the request names it (its UUID as stored, upper-case or in braces)."""
        org = self.orgs[data.draw(st.integers(0, len(self.orgs) - 1), label="org")]
        variants = [org.org_uuid.upper(), "{" + org.org_uuid + "}"]
        return org, choose(data, "org_ref", (4, [org.org_uuid]), (1, variants))

    def draw_key(self, data, org: OrgModel, label: str = "key") -> str:
        return choose(data, label, (6, sorted(org.exts)), (2, KEY_POOL), (1, BAD_KEYS))

    def draw_user_ref(self, data, org: OrgModel) -> str:
        own = [ref for identity, name in org.users.items()
               for ref in (identity, identity.upper(), "{" + identity + "}", name,
                           "  " + name.upper().replace(" ", "   ") + " ")]
        foreign = [identity for other in self.orgs if other is not org for identity in other.users]
        odd = ["Dup Name", " dup   NAME", "Nobody Here", "", str(uuid.uuid4())]
        return choose(data, "user", (6, own), (1, foreign), (1, odd))

    def draw_number(self, data, org: OrgModel) -> str | None:
        own = [raw for raw, number in self.number_inputs.items() if number in org.numbers]
        foreign = [raw for raw, number in self.number_inputs.items()
                   if number.startswith("+") and number not in org.numbers] + [UNOWNED_NUMBER]
        return choose(data, "number", (5, own), (2, [None]), (1, foreign), (1, list(BAD_NUMBERS)))

    def expect(self, label: str, call, codes: set[str]):
        """Call; if ``codes`` it must be refused with exactly those problem codes."""
        if not codes:
            return call()
        with pytest.raises(Refused) as refused:
            call()
        got = {p.code for p in refused.value.problems}
        assert got == codes, f"{label}: expected refusal {sorted(codes)}, got {sorted(got)}: {refused.value}"
        return None

    # rules
    @rule(data=st.data())
    def provision(self, data):
        org, org_ref = self.draw_org(data)
        count = choose(data, "count", (6, [1, 2, 3]), (1, [0, -1, 7]))
        start = choose(data, "start", (6, STARTS), (1, BAD_KEYS))
        codes, keys = provision_outcome(org, count, start)
        created = self.expect("provision", lambda: provision(self.engine, org_ref, count, start), codes)
        if not codes:
            assert created == keys
            org.exts.update({k: Ext() for k in keys})

    @rule(data=st.data())
    def assign_user(self, data):
        org, org_ref = self.draw_org(data)
        raw_key, ref = self.draw_key(data, org), self.draw_user_ref(data, org)
        (key, key_code), (user, user_code) = org.find_ext(raw_key), org.resolve_user(ref)
        codes = {c for c in (key_code, user_code) if c}
        holder = user and org.holder("user", user)
        if key and holder and holder != key:
            codes.add("user-assigned")
        self.expect("assign_user", lambda: ext_ops.assign_user(self.engine, org_ref, raw_key, ref), codes)
        if not codes:
            org.exts[key].user = user

    @rule(data=st.data())
    def unassign_user(self, data):
        org, org_ref = self.draw_org(data)
        raw_key = self.draw_key(data, org)
        key, code = org.find_ext(raw_key)
        self.expect("unassign_user", lambda: ext_ops.unassign_user(self.engine, org_ref, raw_key),
                    {code} - {None})
        if key:
            org.exts[key].user = None

    @rule(data=st.data())
    def set_addons(self, data):
        org, org_ref = self.draw_org(data)
        raw_key = self.draw_key(data, org)
        skus = data.draw(st.lists(st.sampled_from(SKUS), max_size=3), label="skus")
        skus += choose(data, "odd skus", (6, [[]]), (1, [[sku] for sku in ODD_SKUS]))
        wanted = {" ".join(s.split()) for s in skus}
        key, codes = None, {"addon-sku-invalid"} if "" in wanted or "\x01" in wanted else set()
        if not codes:
            key, code = org.find_ext(raw_key)
            codes = {code} - {None}
        if key:
            for sku in wanted - org.exts[key].addons:
                in_use = sum(sku in e.addons for e in org.exts.values())
                if sku not in org.addon_totals:
                    codes.add("addon-unknown")
                elif org.addon_totals[sku] - in_use < 1:
                    codes.add("addon-licenses-insufficient")
        result = self.expect("set_addons", lambda: ext_ops.set_addons(self.engine, org_ref, raw_key, skus),
                             codes)
        if not codes:
            assert result == sorted(wanted)
            org.exts[key].addons = wanted

    @rule(data=st.data())
    def set_number(self, data):
        org, org_ref = self.draw_org(data)
        raw_key = self.draw_key(data, org)
        raw = self.draw_number(data, org)
        number = None if raw is None else self.number_inputs.get(raw, raw)
        key, codes = None, {number} if raw in BAD_NUMBERS else set()
        if not codes:
            key, code = org.find_ext(raw_key)
            codes = {code} - {None}
        if key and number is not None:
            holder = org.holder("number", number)
            if number not in org.numbers:
                codes.add("number-not-owned")
            elif holder not in (None, key):
                codes.add("number-assigned")
        result = self.expect("set_number", lambda: ext_ops.set_number(self.engine, org_ref, raw_key, raw),
                             codes)
        if not codes:
            assert result == number
            org.exts[key].number = number

    @rule(data=st.data())
    def edit_extension(self, data):
        org, org_ref = self.draw_org(data)
        raw_key = self.draw_key(data, org)
        change = choose(data, "change", (4, ["key", "name"]), (1, ["both", "neither"]))
        new_key = name = None
        if change in ("key", "both"):
            new_key = choose(data, "new_key", (4, KEY_POOL), (2, sorted(org.exts)), (1, BAD_KEYS))
        if change in ("name", "both"):
            name = choose(data, "name", (4, DIRECTORY_NAMES), (1, BAD_DIRECTORY_NAMES),
                          (1, [data.draw(st.text(st.characters(codec="utf-8"), max_size=6), label="text")]))
        key, codes = None, set() if change != "neither" else {"nothing-to-change"}
        if new_key is not None:
            codes |= {org.find_ext(new_key)[1]} & {"ext-key-required", "ext-key-format"}
        if name is not None:
            codes |= {text_problem(name.strip(), 100, "directory-name-too-long", "directory-name-control-char")}
            codes -= {None}
        if not codes:
            key, code = org.find_ext(raw_key)
            codes = {code} - {None}
        if key and new_key is not None and new_key.strip() != key and new_key.strip() in org.exts:
            codes.add("ext-key-exists")
        result = self.expect("edit_extension", lambda: ext_ops.edit_extension(
            self.engine, org_ref, raw_key, new_key=new_key, directory_name=name), codes)
        if not codes:
            ext = org.exts.pop(key)
            final_key = key if new_key is None else new_key.strip()
            org.exts[final_key] = ext
            if name is not None:
                ext.directory_name = name.strip() or None
            assert result.ext_key == final_key

    @rule(data=st.data())
    def delete_extension(self, data):
        org, org_ref = self.draw_org(data)
        raw_key = self.draw_key(data, org)
        key, code = org.find_ext(raw_key)
        result = self.expect("delete_extension", lambda: delete_extension(self.engine, org_ref, raw_key),
                             {code} - {None})
        if key:
            ext = org.exts.pop(key)
            assert result.as_dict() == {"ext_key": key, "released": {"base_licenses": 1, "addons": sorted(ext.addons),
                                                           "number": ext.number, "user": ext.user}}

    @rule(malformed=st.booleans(), operation=st.sampled_from(
        ["provision", "assign_user", "unassign_user", "set_addons", "set_number", "edit", "delete"]))
    def operation_on_unknown_org(self, malformed, operation):
        org_ref = "not-an-org" if malformed else str(uuid.uuid4())
        user = next(iter(self.orgs[0].users))
        calls = {"provision": lambda: provision(self.engine, org_ref, 1, "101"),
                 "assign_user": lambda: ext_ops.assign_user(self.engine, org_ref, "101", user),
                 "unassign_user": lambda: ext_ops.unassign_user(self.engine, org_ref, "101"),
                 "set_addons": lambda: ext_ops.set_addons(self.engine, org_ref, "101", ["Voicemail"]),
                 "set_number": lambda: ext_ops.set_number(self.engine, org_ref, "101", self.orgs[0].numbers[0]),
                 "edit": lambda: ext_ops.edit_extension(self.engine, org_ref, "101", new_key="102"),
                 "delete": lambda: delete_extension(self.engine, org_ref, "101")}
        self.expect(f"{operation} on unknown org", calls[operation],
                    {"org-uuid-invalid" if malformed else "org-not-found"})

    def teardown(self):
        """Remove this example's orgs, so a broken one cannot fail the whole-database checks of the next."""
        for org in self.orgs:
            delete_org(self.engine, org.org_uuid)

    @invariant()
    def database_matches_model(self):
        for org in self.orgs:
            assert list_extensions(self.engine, org.org_uuid) == org.expected_extensions()
            assert org_usage(self.engine, org.org_uuid).as_dict() == org.expected_usage()
        assert_invariants(self.engine)


@pytest.mark.slow
def test_operations_match_model(engine):
    run_state_machine_as_test(lambda: InventoryMachine(engine), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
