"""Indexes for the reads people wait for: the licenses view's counts and pages of extensions.

``ix_extensions_org_with_user`` and ``ix_extensions_org_with_number`` are partial indexes of an
organization's extensions that have a user or a number, so counting them reads only those
entries; ``ix_extensions_org_key_order`` holds the numeric key order the extension list and the
API's pages sort by, so a page is read in index order instead of sorting every extension.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, column in (("ix_extensions_org_with_user", "identity_uuid"), ("ix_extensions_org_with_number", "number")):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "extensions", ["org_uuid"], sqlite_where=where, postgresql_where=where)
    op.create_index("ix_extensions_org_key_order", "extensions",
                    ["org_uuid", sa.text("CAST(ext_key AS INTEGER)"), "ext_key"])


def downgrade() -> None:
    for name in ("ix_extensions_org_key_order", "ix_extensions_org_with_number", "ix_extensions_org_with_user"):
        op.drop_index(name, "extensions")
