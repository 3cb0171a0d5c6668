"""The inventory's invariants checked with SQL: over the whole database, and one started template's ledger.

Over the whole database: invariants 1 docs/invariants.md#license-counts, 2 docs/invariants.md#one-owner,
5 docs/invariants.md#org-isolation and 6 docs/invariants.md#holds; per job: 3
docs/invariants.md#exactly-once. The page says what each means, where it is enforced and which tests
prove it under crashes and races.

``assert_invariants(engine)`` is meant to be called after anything that writes: unit tests, the
stateful test after every step, concurrency tests after the race. Each check is one query that
returns the offending rows, so a failure names exactly what is wrong:
``from tests.invariants import assert_invariants``.

``assert_ledger(engine, *template_uuids)`` checks a started template's job ledger
(``template_rows.status``) against the inventory: one outcome per row, assigned rows pointing at
their extension, failed rows with a reason, and (given the extension ids from before the job)
no extension created that the ledger does not record. Pass ``completed=False`` mid-run.

The queries themselves live in ``tests.invariant_queries`` (the scale-out benchmark runs them too).
"""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, text

from phonesys.storage.inventory.engine import read_transaction
from tests.invariant_queries import CHECKS, HELD_IN_USE, LEDGER_CHECKS, invariant_violations, ledger_violations

__all__ = ["CHECKS", "HELD_IN_USE", "LEDGER_CHECKS", "assert_holds_respected", "assert_invariants", "assert_ledger",
           "invariant_violations", "ledger_violations"]


def assert_invariants(engine: Engine) -> None:
    """Fail with every broken invariant listed if the database breaks invariant 1, 2, 5 or 6.

    Those are docs/invariants.md#license-counts, docs/invariants.md#one-owner,
    docs/invariants.md#org-isolation and docs/invariants.md#holds.
    """
    violations = invariant_violations(engine)
    assert not violations, "inventory invariants broken:\n" + "\n".join(violations)


def assert_holds_respected(engine: Engine) -> None:
    """Every invariant, plus: no key, user or number an in-progress template holds is in use."""
    violations = invariant_violations(engine, CHECKS + HELD_IN_USE)
    assert not violations, "inventory invariants broken:\n" + "\n".join(violations)


def assert_ledger(engine: Engine, *template_uuids: str, completed: bool = True,
                  extensions_before: set[int] | None = None) -> None:
    """Fail unless each template's ledger agrees with the inventory (docs/invariants.md#exactly-once).

    ``completed``: the templates must be completed, every row assigned or failed. Otherwise (a
    template caught mid-run) only the rows decided so far are checked. ``extensions_before``: the
    ids of the organization's extensions before the templates ran; the extensions now are then
    exactly those plus one per assigned row (nothing created that the ledger does not record).
    """
    violations = [v for t in template_uuids for v in ledger_violations(engine, t)]
    with read_transaction(engine) as connection:
        templates = connection.execute(text(
            "SELECT template_uuid, org_uuid, status FROM templates WHERE template_uuid IN :uuids")
            .bindparams(bindparam("uuids", expanding=True)), {"uuids": list(template_uuids)}).all()
        assigned = connection.execute(text(
            "SELECT extension_id FROM template_rows WHERE status = 'assigned' AND template_uuid IN :uuids")
            .bindparams(bindparam("uuids", expanding=True)), {"uuids": list(template_uuids)}).scalars().all()
        orgs = {t.org_uuid for t in templates}
        current = set(connection.execute(text("SELECT id FROM extensions WHERE org_uuid IN :orgs")
                                         .bindparams(bindparam("orgs", expanding=True)),
                                         {"orgs": list(orgs)}).scalars()) if orgs else set()
    if len(templates) != len(set(template_uuids)):
        violations.append(f"unknown template among {template_uuids}")
    if completed:
        violations += [f"template {t.template_uuid} is {t.status}, expected completed"
                       for t in templates if t.status != "completed"]
    if extensions_before is not None:
        created = current - set(extensions_before)
        missing = set(extensions_before) - current
        if created != set(assigned) or missing:
            violations.append(f"extensions created {len(created)} != assigned rows {len(assigned)}: not in the "
                              f"ledger {sorted(created - set(assigned))[:5]}, in the ledger but not new "
                              f"{sorted(set(assigned) - created)[:5]}, removed {sorted(missing)[:5]}")
    assert not violations, "job ledger broken:\n" + "\n".join(violations)
