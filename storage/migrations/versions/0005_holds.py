"""Holds: what a started template has reserved until its rows are decided.

``organizations.base_held`` and ``addon_pools.held`` count licenses held by in-progress templates;
the CHECKs make ``used + held <= total`` a fact of the database, not of the code. ``row_holds`` has
one row per pending row of an in-progress template: its ext key, user and number, each unique, so
two templates can never hold the same user, number or key even if a caller skips the checks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _add_held_column(table: str, column: str, check_name: str, check: str) -> None:
    """Add a counter with its CHECK in place: SQLite accepts a CHECK on ADD COLUMN, so no table rebuild
    (rebuilding ``organizations`` would trip the foreign keys of every table that references it)."""
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0 "
                   f"CONSTRAINT {check_name} CHECK ({check})")
        return
    op.add_column(table, sa.Column(column, sa.Integer, nullable=False, server_default="0"))
    op.create_check_constraint(check_name, table, check)


def upgrade() -> None:
    _add_held_column("organizations", "base_held", "ck_org_base_held",
                     "base_held >= 0 AND base_used + base_held <= base_total")
    _add_held_column("addon_pools", "held", "ck_addon_held", "held >= 0 AND used + held <= total")
    op.create_table(
        "row_holds",
        sa.Column("row_id", sa.Integer, sa.ForeignKey("template_rows.id"), primary_key=True),
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), nullable=False),
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.Column("ext_key", sa.String(5), nullable=False),
        sa.Column("identity_uuid", sa.String(36), nullable=False),
        sa.Column("number", sa.String(16), nullable=True),
        sa.UniqueConstraint("org_uuid", "ext_key", name="uq_row_holds_key"),
        sa.UniqueConstraint("identity_uuid", name="uq_row_holds_user"),
        sa.UniqueConstraint("number", name="uq_row_holds_number"),
    )
    op.create_index("ix_row_holds_template", "row_holds", ["template_uuid"])


def downgrade() -> None:
    op.drop_index("ix_row_holds_template", "row_holds")
    op.drop_table("row_holds")
    for table, column, check in (("addon_pools", "held", "ck_addon_held"),
                                 ("organizations", "base_held", "ck_org_base_held")):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(check, type_="check")
            batch.drop_column(column)
