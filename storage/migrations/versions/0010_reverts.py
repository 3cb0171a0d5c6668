"""Reverting a completed template (its plan, held while it runs, and its ledger); cancelling one in progress.

``template_reverts`` has one row per template being or having been reverted (the template's own
status stays ``completed``: what it did is history; ``template show`` reports the revert beside it).
``revert_rows`` is the revert's ledger, one row per extension the template made: pending ->
reverted | kept (changed since the template made it) | gone (deleted by hand before the revert). While
a revert runs, its pending rows hold their extensions: manual changes to them are refused.
``templates.cancelled_at`` marks a template ended by ``phonesys template cancel`` (its rows not yet
assigned failed as ``template-cancelled``); its status is ``completed`` like any template that ran to its end.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("templates", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "template_reverts",
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), primary_key=True),
        sa.Column("org_uuid", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_key", sa.String(1024), nullable=True),
        sa.CheckConstraint("status IN ('reverting', 'reverted')", name="ck_template_reverts_status"),
    )
    op.create_table(
        "revert_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=False),
        sa.Column("extension_id", sa.Integer, nullable=True),
        sa.Column("ext_key", sa.String(5), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'reverted', 'kept', 'gone')", name="ck_revert_rows_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_revert_rows_template", "revert_rows", ["template_uuid", "status"])
    op.create_index("ix_revert_rows_extension", "revert_rows", ["extension_id"])


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("cancelled_at")
    op.drop_table("revert_rows")
    op.drop_table("template_reverts")
