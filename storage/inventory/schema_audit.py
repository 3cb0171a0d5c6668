"""The audit log's and the template reverts' tables (SQLAlchemy Core), on ``schema.metadata``.

Kept apart from ``schema.py`` so each file stays one subject: these tables record what was done (the
audit history, which outlives what it names) and how a completed template is undone, not the
inventory itself. Whoever reads the whole schema (the migrations' ``env.py``, ``tests/test_migrations.py``)
imports this module too, so the tables are on ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
)

from phonesys.rules.limits import AUDIT_ACTOR_MAX, REASON_MAX_CHARS
from phonesys.rules.vocabulary import PENDING
from phonesys.storage.inventory.schema import metadata

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("actor", String(AUDIT_ACTOR_MAX), nullable=False),
    Column("action", String(40), nullable=False),
    Column("org_uuid", String(36), nullable=True),  # no foreign key: the history outlives the organization
    Column("target_type", String(16), nullable=False),
    Column("target", String(300), nullable=True),
    Column("extension_id", Integer, nullable=True),  # one extension across key changes
    Column("template_uuid", String(36), nullable=True),
    Column("before", Text, nullable=True),  # JSON
    Column("after", Text, nullable=True),  # JSON
    Column("correlation", String(300), nullable=True),
    Column("outcome", String(16), nullable=False, server_default="ok"),
    Index("ix_audit_org_at", "org_uuid", "at"),
    Index("ix_audit_extension", "extension_id"),
    Index("ix_audit_org_target", "org_uuid", "target_type", "target"),
    Index("ix_audit_template", "template_uuid"),
    sqlite_autoincrement=True,
)

audit_retention = Table(
    "audit_retention",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("days", Integer, nullable=False),
    CheckConstraint("id = 1", name="ck_audit_retention_one_row"),
    CheckConstraint("days >= 1", name="ck_audit_retention_days"),
)

template_reverts = Table(
    "template_reverts",
    metadata,
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), primary_key=True),
    Column("org_uuid", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("policy", String(16), nullable=False),
    Column("started_by", String(AUDIT_ACTOR_MAX), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("report_key", String(1024), nullable=True),
)

revert_rows = Table(
    "revert_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), nullable=False),
    Column("org_uuid", String(36), nullable=False),
    Column("extension_id", Integer, nullable=True),
    Column("ext_key", String(5), nullable=False),
    Column("status", String(8), nullable=False, server_default=PENDING),
    Column("reason_code", String(64), nullable=True),
    Column("reason", String(REASON_MAX_CHARS), nullable=True),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Index("ix_revert_rows_template", "template_uuid", "status"),
    Index("ix_revert_rows_extension", "extension_id"),
    sqlite_autoincrement=True,
)
