"""Bulk assignment jobs: run settings on templates and the per-row outcome ledger on template rows.

The ledger (``template_rows.status`` / ``reason`` / ``extension_id``) is written in the same
transaction as the claims it records, which is what makes a re-run after a crash exactly-once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in (sa.Column("policy", sa.String(16), nullable=True),
                   sa.Column("chunk_size", sa.Integer, nullable=True),
                   sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
                   sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
                   sa.Column("report_key", sa.String(1024), nullable=True),
                   sa.Column("export_key", sa.String(1024), nullable=True)):
        op.add_column("templates", column)
    with op.batch_alter_table("template_rows") as batch:
        batch.add_column(sa.Column("status", sa.String(8), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("reason_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("extension_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("ck_template_rows_status", "status IN ('pending', 'assigned', 'failed')")
        batch.create_check_constraint("ck_template_rows_outcome",
                                      "(status = 'assigned') = (extension_id IS NOT NULL)")
    op.create_index("ix_template_rows_template_status", "template_rows", ["template_uuid", "status"])


def downgrade() -> None:
    op.drop_index("ix_template_rows_template_status", "template_rows")
    with op.batch_alter_table("template_rows") as batch:
        batch.drop_constraint("ck_template_rows_outcome", type_="check")
        batch.drop_constraint("ck_template_rows_status", type_="check")
        for name in ("processed_at", "extension_id", "reason", "reason_code", "status"):
            batch.drop_column(name)
    for name in ("export_key", "report_key", "completed_at", "started_at", "chunk_size", "policy"):
        op.drop_column("templates", name)
