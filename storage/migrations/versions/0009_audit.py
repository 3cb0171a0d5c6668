"""The audit log: who changed what, when, before and after; append-only in the database itself.

``audit_events`` is written in the same transaction as the change it describes, so a change rolled
back (a refused command, a chunk killed mid-way) leaves no event. Triggers refuse UPDATE on both
backends, and refuse DELETE of any event younger than the retention in ``audit_retention`` (one row,
days >= 1): only ``phonesys audit prune`` deletes, and only what is past it. PostgreSQL also refuses
TRUNCATE. ``org_uuid`` has no foreign key: an organization's history outlives the organization.

``extension_id`` follows one extension across key changes (``phonesys ext history``); ``target`` is the
key (number, user, template, ...) at the time of the event. ``started_by`` on templates keeps the actor
who started a template: its flow run's bulk rows are recorded as that actor's.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DEFAULT_RETENTION_DAYS = 365

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit-append-only: audit events cannot be changed'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       WHEN OLD.at >= datetime('now', '-' || (SELECT days FROM audit_retention WHERE id = 1) || ' days')
       BEGIN SELECT RAISE(ABORT, 'audit-append-only: audit events inside the retention cannot be deleted'); END""",
)

_POSTGRESQL_TRIGGERS = (
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' AND OLD.at < now() - make_interval(
              days => (SELECT days FROM audit_retention WHERE id = 1)) THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'audit-append-only: audit events cannot be changed or deleted inside the retention'
           USING ERRCODE = 'integrity_constraint_violation';
       END $$""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=True),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target", sa.String(300), nullable=True),
        sa.Column("extension_id", sa.Integer, nullable=True),
        sa.Column("template_uuid", sa.String(36), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("correlation", sa.String(300), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False, server_default="ok"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_org_at", "audit_events", ["org_uuid", "at"])
    op.create_index("ix_audit_extension", "audit_events", ["extension_id"])
    op.create_index("ix_audit_org_target", "audit_events", ["org_uuid", "target_type", "target"])
    op.create_index("ix_audit_template", "audit_events", ["template_uuid"])
    op.create_table(
        "audit_retention",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_retention_one_row"),
        sa.CheckConstraint("days >= 1", name="ck_audit_retention_days"),
    )
    op.execute(f"INSERT INTO audit_retention (id, days) VALUES (1, {DEFAULT_RETENTION_DAYS})")
    op.add_column("templates", sa.Column("started_by", sa.String(200), nullable=True))
    for statement in _POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("started_by")
    op.drop_table("audit_retention")
    op.drop_table("audit_events")
