"""Writing the audit log: every change records who, what, before and after in its own transaction.

The actor and correlation ride on the engine as execution options (``acting``), set once where a
request comes in (the CLI, an API request, the drop folder, a flow run), so the storage functions
that change the inventory need no extra parameter and cannot forget to pass one: ``record`` reads
them from the connection. Events are inserted in the transaction of the change, so a rolled-back
change (a refusal, a killed chunk) leaves none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    String,
    Text,
    cast,
    func,
    insert,
    literal,
    select,
)

from phonesys.rules.audit import SYSTEM_ACTOR, Outcome, TargetType
from phonesys.rules.codes import AUDIT
from phonesys.rules.limits import AUDIT_ACTOR_MAX
from phonesys.storage.inventory.schema import extension_addons, extensions, template_rows, users
from phonesys.storage.inventory.schema_audit import audit_events, revert_rows
from phonesys.storage.inventory.upsert import chunked

ACTOR = "phonesys_actor"
CORRELATION = "phonesys_correlation"
Snapshot = dict[str, Any]


def acting(engine: Engine, actor: str, correlation: str | None = None) -> Engine:
    """``engine`` whose changes are recorded as ``actor``'s, grouped under ``correlation``."""
    return engine.execution_options(**{ACTOR: actor[:AUDIT_ACTOR_MAX], CORRELATION: correlation})


def correlated(engine: Engine, correlation: str) -> Engine:
    """``engine`` whose events are grouped under ``correlation`` (a flow run, a chunk), actor unchanged."""
    return engine.execution_options(**{CORRELATION: correlation})


def actor_of(bind: Engine | Connection) -> str:
    return str(bind.get_execution_options().get(ACTOR) or SYSTEM_ACTOR)


def on_behalf_of(connection: Connection, started_by: str | None) -> str:
    """A template's rows are changed for whoever started it (its ``started_by``), whichever worker
    runs them; a template started before the log existed falls back to the connection's actor."""
    return started_by or actor_of(connection)


@dataclass(frozen=True)
class Event:
    """One audit event before it is written; ``before``/``after`` are JSON-able snapshots."""

    action: str
    org_uuid: str | None
    target_type: TargetType
    target: str | None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    extension_id: int | None = None
    template_uuid: str | None = None
    outcome: Outcome = "ok"


def record(connection: Connection, *events: Event, actor: str | None = None) -> None:
    """Insert ``events`` in the connection's transaction (one statement for any number of them)."""
    record_all(connection, events, actor=actor)


def record_all(connection: Connection, events: Iterable[Event], *, actor: str | None = None) -> None:
    options = connection.get_execution_options()
    who = actor or str(options.get(ACTOR) or SYSTEM_ACTOR)
    rows = [_row(event, who, options.get(CORRELATION)) for event in events]
    if rows:
        connection.execute(audit_events.insert(), rows)


def _row(event: Event, actor: str, correlation: str | None) -> dict[str, Any]:
    assert event.action in AUDIT, f"audit action {event.action!r} is not in the code table"
    return {"actor": actor, "action": event.action, "org_uuid": event.org_uuid, "target_type": event.target_type,
            "target": event.target, "extension_id": event.extension_id, "template_uuid": event.template_uuid,
            "before": _json(event.before), "after": _json(event.after), "correlation": correlation,
            "outcome": event.outcome}


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def extension_snapshots(connection: Connection, extension_ids: Sequence[int]) -> dict[int, Snapshot]:
    """What each extension is now (key, directory name, user, number, add-ons), read set-based."""
    found: dict[int, Snapshot] = {}
    for batch in chunked(extension_ids):
        rows = connection.execute(
            select(extensions.c.id, extensions.c.ext_key, extensions.c.directory_name, extensions.c.identity_uuid,
                   extensions.c.number, users.c.name.label("user_name"))
            .outerjoin(users, users.c.identity_uuid == extensions.c.identity_uuid)
            .where(extensions.c.id.in_(batch))).all()
        for row in rows:
            found[row.id] = {"key": row.ext_key, "directory_name": row.directory_name, "user": row.identity_uuid,
                             "user_name": row.user_name, "number": row.number, "addons": []}
        addons = connection.execute(select(extension_addons.c.extension_id, extension_addons.c.sku)
                                    .where(extension_addons.c.extension_id.in_(batch))
                                    .order_by(extension_addons.c.sku)).all()
        for extension_id, sku in addons:
            found[extension_id]["addons"].append(sku)
    return found


def extension_event(action: str, org_uuid: str, extension_id: int, before: Snapshot | None,
                    after: Snapshot | None, template_uuid: str | None = None) -> Event:
    """An event about one extension; its target is the key it has after the change (before, if deleted)."""
    key = (after or before or {}).get("key")
    return Event(action, org_uuid, "extension", key, before, after, extension_id, template_uuid)


@contextmanager
def extension_change(connection: Connection, action: str, org_uuid: str, extension_id: int) -> Iterator[None]:
    """Record the change the body makes to one extension, with the extension as it was and is."""
    before = extension_snapshots(connection, [extension_id]).get(extension_id)
    yield
    after = extension_snapshots(connection, [extension_id]).get(extension_id)
    record(connection, extension_event(action, org_uuid, extension_id, before, after))


def record_bulk_assigned(connection: Connection, org_uuid: str, template_uuid: str, chosen: ColumnElement[bool],
                         skus: Sequence[str], actor: str) -> None:
    """One ``bulk.assign`` event per assigned row of the chunk, in one INSERT ... SELECT: the rows
    ``chosen`` of ``template_rows`` joined to the extensions they just made, each event's ``after``."""
    after = _snapshot(connection, sorted(skus), template_rows.c.user_name)
    made = template_rows.join(extensions, extensions.c.id == template_rows.c.extension_id)
    _record_extension_events(connection, BulkEvents("bulk.assign", org_uuid, template_uuid, actor),
                             ("after", after), made, chosen, template_rows.c.id)


def record_bulk_reverted(connection: Connection, org_uuid: str, template_uuid: str, chosen: ColumnElement[bool],
                         addons: Sequence[str], actor: str) -> None:
    """One ``bulk.revert`` event per extension a revert chunk removes, in one INSERT ... SELECT before
    the DELETE: the rows ``chosen`` of ``revert_rows`` joined to their extensions (and users), each
    event's ``before``. ``addons`` is the one list every such extension holds, as ``extension_snapshots``
    orders it: only an extension still exactly as its template made it is removed (``rules.revert``)."""
    before = _snapshot(connection, list(addons), users.c.name)
    held = (revert_rows.join(extensions, extensions.c.id == revert_rows.c.extension_id)
            .outerjoin(users, users.c.identity_uuid == extensions.c.identity_uuid))
    _record_extension_events(connection, BulkEvents("bulk.revert", org_uuid, template_uuid, actor),
                             ("before", before), held, chosen, revert_rows.c.id)


@dataclass(frozen=True)
class BulkEvents:
    """What every event of one bulk statement shares."""

    action: str
    org_uuid: str
    template_uuid: str
    actor: str


def _record_extension_events(connection: Connection, events: BulkEvents, snapshot: tuple[str, ColumnElement[str]],
                             rows: FromClause, chosen: ColumnElement[bool], order: ColumnElement[Any]) -> None:
    """Insert one event per row of ``rows`` that ``chosen`` picks, in ``order``: target the extension's
    key, ``snapshot`` its before or after, the correlation the connection's."""
    assert events.action in AUDIT, f"audit action {events.action!r} is not in the code table"
    side, built = snapshot
    source = (select(literal(events.actor, String), literal(events.action, String), literal(events.org_uuid, String),
                     literal("extension", String), extensions.c.ext_key, extensions.c.id,
                     literal(events.template_uuid, String), built,
                     literal(connection.get_execution_options().get(CORRELATION), String))
              .select_from(rows).where(chosen).order_by(order))
    connection.execute(insert(audit_events).from_select(
        ["actor", "action", "org_uuid", "target_type", "target", "extension_id", "template_uuid", side,
         "correlation"], source))


def _snapshot(connection: Connection, addons: list[str], user_name: ColumnElement[Any]) -> ColumnElement[str]:
    """An extension as ``extension_snapshots`` gives it, built by the database as JSON (keys in sorted
    order); every extension of the statement holds ``addons``."""
    return _json_object(connection, [
        ("addons", literal(json.dumps(addons), Text), True),
        ("directory_name", extensions.c.directory_name, False), ("key", extensions.c.ext_key, False),
        ("number", extensions.c.number, False), ("user", extensions.c.identity_uuid, False),
        ("user_name", user_name, False)])


def _json_object(connection: Connection, fields: list[tuple[str, ColumnElement[Any], bool]]) -> ColumnElement[str]:
    """A JSON object built by the database: SQLite's ``json_object``, PostgreSQL's ``json_build_object``;
    a field marked True holds JSON text to embed as is."""
    postgresql = connection.dialect.name == "postgresql"
    arguments: list[ColumnElement[Any]] = []
    for name, value, is_json in fields:
        embedded = (cast(value, JSON) if postgresql else func.json(value)) if is_json else value
        arguments += [literal(name, String), embedded]
    built = func.json_build_object(*arguments) if postgresql else func.json_object(*arguments)
    return cast(built, Text)
