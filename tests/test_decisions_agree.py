"""The manual path and the bulk path decide alike (issue 19): on any generated inventory, asking
"may user U, number N and add-on A go on a new extension K?" through Provision & Assign and through
a one-row bulk template (its start check and its chunk's row decision) gives the same answer, the
same codes and, for the start check, the same messages. Both ask ``phonesys.rules.assignable``.

Each example loads a fresh organization into the backend's database: some of its users and numbers
already on extensions, some reserved by another in-progress template, a few base and add-on
licenses left (or none). Provision & Assign reports every reason; a template row reports its first,
so the bulk codes must be among the manual ones, and either both refuse or neither does.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonesys.rules.errors import Refused
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.decide import decide_rows, pending_rows
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import Assignment, provision
from tests.bulkfixtures import make_template
from tests.conftest import make_document

ADDON = "Voicemail"
TAKEN_KEY, RESERVED_KEY, FREE_KEY = "500", "600", "700"
NOT_OWNED = "+6591234567"  # a valid number no generated organization owns
_orgs = itertools.count(1)


@dataclass(frozen=True)
class Inventory:
    """What the generated organization looks like before the request."""

    user_taken: bool      # user 0 is on extension 500 (which exists either way)
    number_taken: bool    # number 0 is on extension 500
    reserved: bool        # another in-progress template holds key 600, user 2 and number 2
    base_left: int
    addon_left: int


@dataclass(frozen=True)
class Request:
    user: int             # 0 (maybe taken), 1 (free), 2 (maybe reserved)
    number: str | None    # "n0", "n1", "n2", "not-owned" or None
    key: str
    addon: bool


inventories = st.builds(Inventory, st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2),
                        st.integers(0, 1))
requests = st.builds(Request, st.integers(0, 2), st.sampled_from([None, "n0", "n1", "n2", "not-owned"]),
                     st.sampled_from([TAKEN_KEY, RESERVED_KEY, FREE_KEY]), st.booleans())


def build(engine, inventory: Inventory):
    """Load the organization and bring it to ``inventory``; returns its document."""
    n = next(_orgs)  # numbers are global across organizations: each org gets its own block
    org_uuid = str(uuid.UUID(f"{n % 10000:04d}" + uuid.uuid4().hex[4:]))
    used = 1 + inventory.reserved  # extension 500, the other template's hold
    document = make_document(org_uuid, base=used + inventory.base_left, numbers=3, users=3,
                             addons={ADDON: inventory.addon_left})
    load_org(engine, document)
    provision(engine, org_uuid, 1, TAKEN_KEY, Assignment(
        user=document.users[0].identity_uuid if inventory.user_taken else None,
        number=document.numbers[0] if inventory.number_taken else None))
    if inventory.reserved:
        other = make_template(engine, document, [row(document, RESERVED_KEY, 2, document.numbers[2])], name="Other")
        start_job(engine, other)
    return document


def row(document, key: str, user: int, number: str | None) -> dict:
    return {"ext_key": key, "identity_uuid": document.users[user].identity_uuid,
            "user_name": document.users[user].name, "number": number}


def number_of(document, name: str | None) -> str | None:
    """``n0``..``n2``: the organization's numbers; ``not-owned``: one it does not own."""
    if name is None or name == "not-owned":
        return None if name is None else NOT_OWNED
    return document.numbers[int(name[1])]


def bulk_decisions(engine, document, request: Request) -> tuple[dict[str, str], str | None]:
    """The one-row template's start check (code -> message) and its chunk's decision (a code)."""
    number = number_of(document, request.number)
    template = make_template(engine, document, [row(document, request.key, request.user, number)],
                             addons=(ADDON,) if request.addon else (), name="Under test")
    plan = start_job(engine, template, dry_run=True)
    with read_transaction(engine) as connection:
        decided = decide_rows(connection, document.org_uuid, pending_rows(connection, template),
                              template_skus(connection, template))
    problem = decided[0].problem
    return {p.code: p.message for p in plan.problems}, None if problem is None else problem.code


def manual_decision(engine, document, request: Request) -> dict[str, str]:
    """Provision & Assign of the same extension (code -> message); {} when it was created."""
    assign = Assignment(user=document.users[request.user].identity_uuid, addons=(ADDON,) if request.addon else (),
                        number=number_of(document, request.number))
    try:
        provision(engine, document.org_uuid, 1, request.key, assign)
    except Refused as refused:
        return {p.code: p.message for p in refused.problems}
    return {}


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inventory=inventories, ask=requests)
def test_manual_and_bulk_decide_alike(engine, inventory: Inventory, ask: Request):
    document = build(engine, inventory)
    started, chunk_code = bulk_decisions(engine, document, ask)  # writes nothing the manual path sees
    manual = manual_decision(engine, document, ask)
    assert bool(started) == bool(manual) == (chunk_code is not None), (started, chunk_code, manual)
    assert set(started) <= set(manual), (started, manual)
    assert chunk_code is None or chunk_code in manual, (chunk_code, manual)
    for code, message in started.items():
        assert manual[code] == message, code
