"""Reading the audit log: an organization's events by filter, and one extension's timeline.

An extension's history follows its id, not its key: the key asked for finds every extension that
has had it (the events name the key an extension had at the time), and then every event of those
extensions, so a key changed since, or a key reused by a later extension, still reads right.
Both queries use the log's indexes (organization and time, newest first; extension id; organization
and target): ``benchmarks/audit_history.py`` times them on a log of a million events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, String, literal, or_, select

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.limits import AUDIT_LIMIT_DEFAULT
from phonesys.rules.values import check_ext_key
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.schema_audit import audit_events


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: str
    actor: str
    action: str
    org_uuid: str | None
    target_type: str
    target: str | None
    extension_id: int | None
    template_uuid: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation: str | None
    outcome: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    actions: Sequence[str] = field(default_factory=tuple)
    ext_key: str | None = None
    number: str | None = None
    user: str | None = None
    template: str | None = None


def org_events(engine: Engine, org_ref: str, wanted: AuditFilter, limit: int = AUDIT_LIMIT_DEFAULT) -> list[AuditEvent]:
    """The newest ``limit`` events of the organization that match every filter given, newest first."""
    with read_transaction(engine) as connection:
        org_uuid = get_org(connection, org_ref).org_uuid
        rows = connection.execute(select(audit_events).where(audit_events.c.org_uuid == org_uuid,
                                                             *_conditions(wanted, connection.dialect.name))
                                  .order_by(*_newest_first(wanted)).limit(limit)).all()
    return [_event(row) for row in rows]


def at_value(dialect: str, when: datetime) -> datetime | str:
    """``when`` (UTC) as the log's ``at`` compares: an instant on PostgreSQL, on SQLite the text
    CURRENT_TIMESTAMP writes (so the comparison is text to text and uses the index)."""
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return utc if dialect == "postgresql" else utc.strftime("%Y-%m-%d %H:%M:%S")


def at_bound(dialect: str, when: datetime) -> Any:
    value = at_value(dialect, when)
    return literal(value, String) if isinstance(value, str) else value


def _newest_first(wanted: AuditFilter) -> list[ColumnElement[Any]]:
    """Newest first. Filtered to one extension or template, the few matches come from their index and
    are sorted by id; otherwise the (organization, time) index is read backwards until ``limit`` match."""
    if wanted.ext_key or wanted.template:
        return [audit_events.c.id.desc()]
    return [audit_events.c.at.desc(), audit_events.c.id.desc()]


def _conditions(wanted: AuditFilter, dialect: str) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.since is not None:
        found.append(audit_events.c.at >= at_bound(dialect, wanted.since))
    if wanted.until is not None:
        found.append(audit_events.c.at < at_bound(dialect, wanted.until))
    if wanted.actor:
        found.append(audit_events.c.actor == wanted.actor)
    if wanted.actions:
        found.append(audit_events.c.action.in_(list(wanted.actions)))
    if wanted.ext_key:
        found.append(_on_extension(wanted.ext_key))
    if wanted.template:
        found.append(audit_events.c.template_uuid == wanted.template)
    for text in (wanted.number, wanted.user):  # inside the before/after snapshots
        if text:
            found.append(or_(*[column.contains(quoted, autoescape=True) for quoted in _as_stored(text)
                               for column in (audit_events.c.before, audit_events.c.after)]))
    return found


def _as_stored(text: str) -> set[str]:
    """``text`` as a JSON string the way snapshots hold it: those written from Python escape
    non-ASCII characters (``"Jos\\u00e9"``), those the database builds for set-based bulk and revert
    events keep them (``"José"``); the log is append-only, so a search must find both."""
    return {json.dumps(text), json.dumps(text, ensure_ascii=False)}


def _on_extension(ext_key: str) -> ColumnElement[bool]:
    return (audit_events.c.target_type == "extension") & (audit_events.c.target == ext_key)


def extension_history(engine: Engine, org_ref: str, ext_key: str) -> list[AuditEvent]:
    """Every event of every extension that has had key ``ext_key``, oldest first."""
    checked = check_ext_key(ext_key, "key")
    if isinstance(checked, Problem):
        raise Refused(checked)
    with read_transaction(engine) as connection:
        org_uuid = get_org(connection, org_ref).org_uuid
        ids = select(audit_events.c.extension_id).where(audit_events.c.org_uuid == org_uuid,
                                                         _on_extension(checked)).distinct().scalar_subquery()
        # by id alone: ids are never given out twice, so the subquery's are this organization's
        rows = connection.execute(select(audit_events).where(audit_events.c.extension_id.in_(ids))
                                  .order_by(audit_events.c.id)).all()
    return [_event(row) for row in rows]


def _event(row: Row[Any]) -> AuditEvent:
    at = row.at.isoformat() if isinstance(row.at, datetime) else str(row.at)
    return AuditEvent(row.id, at, row.actor, row.action, row.org_uuid, row.target_type, row.target,
                      row.extension_id, row.template_uuid, _parsed(row.before), _parsed(row.after),
                      row.correlation, row.outcome)


def _parsed(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))
