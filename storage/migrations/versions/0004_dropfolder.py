"""Drop-folder request ledger: each request (manifest key + version) is claimed exactly once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dropfolder_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("manifest_key", sa.String(1024), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=False),
        sa.Column("request_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="claimed"),
        sa.Column("template_uuid", sa.String(36), nullable=True),
        sa.Column("status_key", sa.String(1024), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("manifest_key", "version", name="uq_dropfolder_manifest_version"),
        sa.CheckConstraint("status IN ('claimed', 'processed', 'rejected')", name="ck_dropfolder_status"),
    )
    op.create_index("ix_dropfolder_template", "dropfolder_requests", ["template_uuid"])


def downgrade() -> None:
    op.drop_table("dropfolder_requests")
