"""The inventory's invariants as SQL: each check is one query returning the rows that break a rule.

What each invariant means, where it is enforced and which tests prove it under crashes and races:
docs/invariants.md, which quotes every check below under its invariant (``tests/test_docs_invariants.py``
fails on a check the page does not describe).

Shared by the tests (``tests/invariants.py`` turns them into assertions) and the scale-out
benchmark, which checks the inventory after many organizations' jobs ran at once. The queries run
in one read-only transaction, so they can run while jobs write.

``invariant_violations(engine)``: invariants 1 (docs/invariants.md#license-counts), 2
(docs/invariants.md#one-owner), 5 (docs/invariants.md#org-isolation) and 6 (docs/invariants.md#holds)
over the whole database (pass ``CHECKS + HELD_IN_USE`` to also require that nothing held is in use).
``ledger_violations(engine, template_uuid)``: invariant 3 (docs/invariants.md#exactly-once) for one
started template, its ledger (``template_rows.status``) against the inventory.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from phonesys.storage.inventory.engine import read_transaction

# (invariant, what must hold, query returning the rows that break it); the number is the one the
# failure messages print and docs/invariants.md gives each invariant
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
    ("6", "organizations.base_held == its held rows, used + held <= total", """
        SELECT o.org_uuid, o.base_total, o.base_used, o.base_held,
               (SELECT count(*) FROM row_holds h WHERE h.org_uuid = o.org_uuid) AS held_rows
        FROM organizations o
        WHERE o.base_held <> (SELECT count(*) FROM row_holds h WHERE h.org_uuid = o.org_uuid)
           OR o.base_used + o.base_held > o.base_total OR o.base_held < 0"""),
    ("6", "addon_pools.held == held rows of templates with that add-on, used + held <= total", """
        SELECT p.org_uuid, p.sku, p.total, p.used, p.held FROM addon_pools p
        WHERE p.held <> (SELECT count(*) FROM row_holds h
                         JOIN template_addons ta ON ta.template_uuid = h.template_uuid AND ta.sku = p.sku
                         WHERE h.org_uuid = p.org_uuid)
           OR p.used + p.held > p.total OR p.held < 0"""),
    ("6", "a hold belongs to a pending row of an in-progress template of its org, with its key, user, number", """
        SELECT h.row_id, h.template_uuid, r.status, t.status AS template_status FROM row_holds h
        LEFT JOIN template_rows r ON r.id = h.row_id
        LEFT JOIN templates t ON t.template_uuid = h.template_uuid
        WHERE r.id IS NULL OR t.template_uuid IS NULL OR r.template_uuid <> h.template_uuid
           OR r.status <> 'pending' OR t.status <> 'in_progress' OR t.org_uuid <> h.org_uuid
           OR r.ext_key <> h.ext_key OR r.identity_uuid <> h.identity_uuid
           OR NOT (r.number = h.number OR (r.number IS NULL AND h.number IS NULL))"""),
    ("6", "every pending row of a template started with holds is held", """
        SELECT r.id, r.template_uuid FROM template_rows r JOIN templates t ON t.template_uuid = r.template_uuid
        WHERE t.status = 'in_progress' AND r.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM row_holds h WHERE h.row_id = r.id)"""),
]

# Invariant 6's other half (docs/invariants.md#holds): nothing held is in use. Out-of-band changes in
# tests break it on purpose (tests/bulkfixtures.py ``take_user``), so it is its own check:
# ``assert_holds_respected``.
HELD_IN_USE: list[tuple[str, str, str]] = [
    ("6", "a held user has no extension", """
        SELECT h.identity_uuid, e.ext_key FROM row_holds h JOIN extensions e ON e.identity_uuid = h.identity_uuid"""),
    ("6", "a held number is on no extension", """
        SELECT h.number, e.ext_key FROM row_holds h JOIN extensions e ON e.number = h.number"""),
    ("6", "a held key is no extension of the org yet", """
        SELECT h.ext_key, h.org_uuid FROM row_holds h
        JOIN extensions e ON e.org_uuid = h.org_uuid AND e.ext_key = h.ext_key"""),
]


def invariant_violations(engine: Engine, checks: list[tuple[str, str, str]] = CHECKS) -> list[str]:
    """One line per broken rule, naming the invariant and up to five offending rows."""
    found = []
    with read_transaction(engine) as connection:  # read-only: never blocks writers
        for number, rule, query in checks:
            rows = connection.execute(text(query)).all()
            if rows:
                sample = "; ".join(str(tuple(row)) for row in rows[:5])
                found.append(f"invariant {number} broken, expected {rule}: {len(rows)} offending "
                             f"row(s): {sample}")
    return found


# Invariant 3 (docs/invariants.md#exactly-once), for one started template: its ledger
# (template_rows.status) against the inventory.
LEDGER_CHECKS: list[tuple[str, str]] = [
    ("a row's status is pending, assigned or failed, and decided rows have processed_at", """
        SELECT r.row_number, r.status, r.processed_at FROM template_rows r
        WHERE r.template_uuid = :template AND (r.status NOT IN ('pending', 'assigned', 'failed')
              OR (r.status <> 'pending' AND r.processed_at IS NULL)
              OR (r.status = 'pending' AND (r.processed_at IS NOT NULL OR r.extension_id IS NOT NULL
                                            OR r.reason_code IS NOT NULL)))"""),
    ("an assigned row points at an extension of its org with the row's key, user and number", """
        SELECT r.row_number, r.ext_key, r.extension_id, e.ext_key AS ext_key_now, e.identity_uuid, e.number
        FROM template_rows r JOIN templates t ON t.template_uuid = r.template_uuid
        LEFT JOIN extensions e ON e.id = r.extension_id
        WHERE r.template_uuid = :template AND r.status = 'assigned'
          AND (e.id IS NULL OR e.org_uuid <> t.org_uuid OR e.ext_key <> r.ext_key
               OR e.identity_uuid IS NULL OR e.identity_uuid <> r.identity_uuid
               OR NOT (e.number = r.number OR (e.number IS NULL AND r.number IS NULL)))"""),
    ("an assigned row's extension holds exactly the template's add-ons", """
        SELECT r.row_number, r.extension_id FROM template_rows r
        WHERE r.template_uuid = :template AND r.status = 'assigned' AND (
            EXISTS (SELECT 1 FROM template_addons ta WHERE ta.template_uuid = r.template_uuid
                    AND NOT EXISTS (SELECT 1 FROM extension_addons a
                                    WHERE a.extension_id = r.extension_id AND a.sku = ta.sku))
            OR EXISTS (SELECT 1 FROM extension_addons a WHERE a.extension_id = r.extension_id
                       AND NOT EXISTS (SELECT 1 FROM template_addons ta
                                       WHERE ta.template_uuid = r.template_uuid AND ta.sku = a.sku)))"""),
    ("a failed row has a reason code and a reason and no extension", """
        SELECT r.row_number, r.reason_code, r.reason, r.extension_id FROM template_rows r
        WHERE r.template_uuid = :template AND r.status = 'failed'
          AND (r.reason_code IS NULL OR r.reason_code = '' OR r.reason IS NULL OR r.reason = ''
               OR r.extension_id IS NOT NULL)"""),
    ("an extension is the outcome of at most one assigned row (of any template)", """
        SELECT r.row_number, r.extension_id, o.template_uuid, o.row_number FROM template_rows r
        JOIN template_rows o ON o.extension_id = r.extension_id AND o.id <> r.id AND o.status = 'assigned'
        WHERE r.template_uuid = :template AND r.status = 'assigned'"""),
    ("a completed template has no pending row", """
        SELECT r.row_number, r.status FROM template_rows r JOIN templates t ON t.template_uuid = r.template_uuid
        WHERE r.template_uuid = :template AND t.status = 'completed' AND r.status = 'pending'"""),
]


AUDIT_CHECKS = [
    ("one bulk.assign event per extension the template made", """
        SELECT extension_id, COUNT(*) FROM audit_events
        WHERE template_uuid = :template AND action = 'bulk.assign' GROUP BY extension_id HAVING COUNT(*) > 1"""),
    # set-based anti-joins (NOT IN over a subquery of the same template: hashed by PostgreSQL, an
    # ephemeral index in SQLite), not correlated NOT EXISTS over the template's events, which both
    # databases can run row by row: 15,000 rows x 15,000 events took minutes on PostgreSQL
    ("a bulk.assign event for every assigned row", """
        SELECT r.row_number, r.extension_id FROM template_rows r
        WHERE r.template_uuid = :template AND r.status = 'assigned' AND r.extension_id NOT IN (
            SELECT a.extension_id FROM audit_events a WHERE a.template_uuid = :template
            AND a.action = 'bulk.assign' AND a.extension_id IS NOT NULL)"""),
    ("no bulk.assign event without its row assigned (or its extension undone, or kept as changed since)", """
        SELECT a.target, a.extension_id FROM audit_events a
        WHERE a.template_uuid = :template AND a.action = 'bulk.assign'
        AND a.extension_id NOT IN (SELECT r.extension_id FROM template_rows r WHERE r.template_uuid = :template
                                   AND r.status = 'assigned' AND r.extension_id IS NOT NULL)
        AND a.extension_id NOT IN (SELECT u.extension_id FROM audit_events u WHERE u.template_uuid = :template
                                   AND u.action = 'bulk.undo' AND u.extension_id IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM template_rows c WHERE c.template_uuid = :template
                        AND c.reason_code = 'changed-since')"""),
]


def ledger_violations(engine: Engine, template_uuid: str) -> list[str]:
    """Invariant 3, and the audit log agreeing with the ledger row for row."""
    found = []
    with read_transaction(engine) as connection:
        for rule, query in LEDGER_CHECKS + AUDIT_CHECKS:
            rows = connection.execute(text(query), {"template": template_uuid}).all()
            if rows:
                sample = "; ".join(str(tuple(row)) for row in rows[:5])
                found.append(f"invariant 3 broken for template {template_uuid}, expected {rule}: "
                             f"{len(rows)} offending row(s): {sample}")
    return found
