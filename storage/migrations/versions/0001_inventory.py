"""Inventory: organizations, license pools, users, numbers, extensions and their add-ons.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _format_checks() -> tuple[str, str]:
    """Ext keys are 3-5 digits and numbers E.164; spelled per dialect (GLOB vs regex)."""
    if op.get_context().dialect.name == "postgresql":
        return "ext_key ~ '^[0-9]{3,5}$'", "number ~ '^[+][0-9]{2,15}$'"
    ext_key = "length(ext_key) BETWEEN 3 AND 5 AND ext_key NOT GLOB '*[^0-9]*'"
    number = ("length(number) BETWEEN 3 AND 16 AND substr(number, 1, 1) = '+' "
              "AND substr(number, 2) NOT GLOB '*[^0-9]*'")
    return ext_key, number


def upgrade() -> None:
    ext_key_check, number_check = _format_checks()
    op.create_table(
        "organizations",
        sa.Column("org_uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("base_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.CheckConstraint("base_total >= 0", name="ck_org_base_total"),
        sa.CheckConstraint("base_used >= 0 AND base_used <= base_total", name="ck_org_base_used"),
    )
    op.create_table(
        "addon_pools",
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("org_uuid", "sku", name="pk_addon_pools"),
        sa.CheckConstraint("total >= 0", name="ck_addon_total"),
        sa.CheckConstraint("used >= 0 AND used <= total", name="ck_addon_used"),
    )
    op.create_table(
        "users",
        sa.Column("identity_uuid", sa.String(36), primary_key=True),
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.UniqueConstraint("org_uuid", "identity_uuid", name="uq_users_org_identity"),
    )
    op.create_index("ix_users_org_name_key", "users", ["org_uuid", "name_key"])
    op.create_table(
        "numbers",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.UniqueConstraint("org_uuid", "number", name="uq_numbers_org_number"),
        sa.CheckConstraint(number_check, name="ck_numbers_e164"),
    )
    op.create_table(
        "extensions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_uuid", sa.String(36), sa.ForeignKey("organizations.org_uuid"), nullable=False),
        sa.Column("ext_key", sa.String(5), nullable=False),
        sa.Column("directory_name", sa.String(100), nullable=True),
        sa.Column("identity_uuid", sa.String(36), nullable=True),
        sa.Column("number", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("org_uuid", "ext_key", name="uq_extensions_org_key"),
        sa.UniqueConstraint("identity_uuid", name="uq_extensions_user"),
        sa.UniqueConstraint("number", name="uq_extensions_number"),
        sa.ForeignKeyConstraint(["org_uuid", "identity_uuid"], ["users.org_uuid", "users.identity_uuid"],
                                name="fk_extensions_user"),
        sa.ForeignKeyConstraint(["org_uuid", "number"], ["numbers.org_uuid", "numbers.number"],
                                name="fk_extensions_number"),
        sa.CheckConstraint(ext_key_check, name="ck_extensions_key"),
        sa.CheckConstraint("length(directory_name) <= 100", name="ck_extensions_directory_name"),
    )
    op.create_table(
        "extension_addons",
        sa.Column("extension_id", sa.Integer, sa.ForeignKey("extensions.id"), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("extension_id", "sku", name="pk_extension_addons"),
        sa.ForeignKeyConstraint(["org_uuid", "sku"], ["addon_pools.org_uuid", "addon_pools.sku"],
                                name="fk_extension_addons_pool"),
    )
    op.create_index("ix_extension_addons_org_sku", "extension_addons", ["org_uuid", "sku"])


def downgrade() -> None:
    for table in ("extension_addons", "extensions", "numbers", "users", "addon_pools", "organizations"):
        op.drop_table(table)
