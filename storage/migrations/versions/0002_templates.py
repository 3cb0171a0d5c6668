"""Bulk assignment templates: the template, its add-ons, the files uploaded into it and their rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("template_uuid", sa.String(36), primary_key=True),
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("org_uuid", "template_uuid", name="uq_templates_org_template"),
        sa.CheckConstraint("status IN ('draft', 'in_progress', 'completed')", name="ck_templates_status"),
    )
    op.create_index("ix_templates_org", "templates", ["org_uuid"])
    op.create_table(
        "template_addons",
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("template_uuid", "sku", name="pk_template_addons"),
        sa.ForeignKeyConstraint(["org_uuid", "sku"], ["addon_pools.org_uuid", "addon_pools.sku"],
                                name="fk_template_addons_pool"),
    )
    op.create_table(
        "template_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("identifier_kind", sa.String(8), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.CheckConstraint("identifier_kind IN ('name', 'uuid')", name="ck_template_files_kind"),
        sa.CheckConstraint("rows >= 1", name="ck_template_files_rows"),
    )
    op.create_index("ix_template_files_template", "template_files", ["template_uuid"])
    op.create_table(
        "template_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("template_uuid", sa.String(36), sa.ForeignKey("templates.template_uuid"), nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("template_files.id"), nullable=False),
        sa.Column("row_number", sa.Integer, nullable=False),
        sa.Column("ext_key", sa.String(5), nullable=False),
        sa.Column("identity_uuid", sa.String(36), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("number", sa.String(16), nullable=True),
        sa.UniqueConstraint("template_uuid", "ext_key", name="uq_template_rows_key"),
        sa.UniqueConstraint("template_uuid", "identity_uuid", name="uq_template_rows_user"),
        sa.UniqueConstraint("template_uuid", "number", name="uq_template_rows_number"),
    )


def downgrade() -> None:
    for table in ("template_rows", "template_files", "template_addons", "templates"):
        op.drop_table(table)
