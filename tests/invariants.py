"""DESIGN.md invariants 1, 2 and 5 checked with SQL over the whole inventory database.

``assert_invariants(engine)`` is meant to be called after anything that writes: unit tests, the
stateful test after every step, concurrency tests after the race. Each check is one query that
returns the offending rows, so a failure names exactly what is wrong:
``from tests.invariants import assert_invariants``.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from storage.inventory.engine import read_transaction

# (invariant, what must hold, query returning the rows that break it)
CHECKS: list[tuple[str, str, str]] = [
    ("1", "organizations.base_used == number of its extensions, 0 <= base_used <= base_total", """
        SELECT o.org_uuid, o.base_total, o.base_used,
               (SELECT count(*) FROM extensions e WHERE e.org_uuid = o.org_uuid) AS extensions
        FROM organizations o
        WHERE o.base_used <> (SELECT count(*) FROM extensions e WHERE e.org_uuid = o.org_uuid)
           OR o.base_used > o.base_total OR o.base_used < 0"""),
    ("1", "addon_pools.used == number of extension_addons of that org and sku, 0 <= used <= total", """
        SELECT p.org_uuid, p.sku, p.total, p.used,
               (SELECT count(*) FROM extension_addons a
                WHERE a.org_uuid = p.org_uuid AND a.sku = p.sku) AS assigned
        FROM addon_pools p
        WHERE p.used <> (SELECT count(*) FROM extension_addons a
                         WHERE a.org_uuid = p.org_uuid AND a.sku = p.sku)
           OR p.used > p.total OR p.used < 0"""),
    ("2", "a user has at most one extension", """
        SELECT identity_uuid, count(*) FROM extensions
        WHERE identity_uuid IS NOT NULL GROUP BY identity_uuid HAVING count(*) > 1"""),
    ("2", "a number belongs to at most one extension", """
        SELECT number, count(*) FROM extensions
        WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1"""),
    ("2", "ext keys are unique per org", """
        SELECT org_uuid, ext_key, count(*) FROM extensions
        GROUP BY org_uuid, ext_key HAVING count(*) > 1"""),
    ("5", "an extension's user is a user of the extension's org", """
        SELECT e.org_uuid, e.ext_key, e.identity_uuid, u.org_uuid AS user_org
        FROM extensions e LEFT JOIN users u ON u.identity_uuid = e.identity_uuid
        WHERE e.identity_uuid IS NOT NULL AND (u.org_uuid IS NULL OR u.org_uuid <> e.org_uuid)"""),
    ("5", "an extension's number is a number license of the extension's org", """
        SELECT e.org_uuid, e.ext_key, e.number, n.org_uuid AS number_org
        FROM extensions e LEFT JOIN numbers n ON n.number = e.number
        WHERE e.number IS NOT NULL AND (n.org_uuid IS NULL OR n.org_uuid <> e.org_uuid)"""),
    ("5", "an extension's add-on comes from a pool of the extension's org", """
        SELECT a.extension_id, a.org_uuid AS addon_org, a.sku, e.org_uuid AS extension_org, e.ext_key
        FROM extension_addons a
        LEFT JOIN extensions e ON e.id = a.extension_id
        LEFT JOIN addon_pools p ON p.org_uuid = a.org_uuid AND p.sku = a.sku
        WHERE e.id IS NULL OR e.org_uuid <> a.org_uuid OR p.sku IS NULL"""),
]


def invariant_violations(engine: Engine) -> list[str]:
    """One line per broken rule, naming the invariant and up to five offending rows."""
    found = []
    with read_transaction(engine) as connection:  # read-only: never blocks writers
        for number, rule, query in CHECKS:
            rows = connection.execute(text(query)).all()
            if rows:
                sample = "; ".join(str(tuple(row)) for row in rows[:5])
                found.append(f"invariant {number} broken, expected {rule}: {len(rows)} offending "
                             f"row(s): {sample}")
    return found


def assert_invariants(engine: Engine) -> None:
    """Fail with every broken invariant listed if the database breaks DESIGN.md 1, 2 or 5."""
    violations = invariant_violations(engine)
    assert not violations, "inventory invariants broken:\n" + "\n".join(violations)
