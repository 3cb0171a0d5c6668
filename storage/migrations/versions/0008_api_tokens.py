"""API tokens: who may call the HTTP API, for which organization, with which role.

Only a SHA-256 of each secret is kept (``hash``, unique: a request finds its token by it). A token's
name is unique in its scope: ``uq_api_tokens_org_name`` for an organization's tokens, and, since a
unique constraint lets NULLs repeat, the partial index ``uq_api_tokens_operator_name`` for operator
tokens (``org_uuid`` NULL, ``phonesys token create --all-orgs``). ``org_uuid`` has no foreign key,
like ``dropfolder_requests``: deleting an organization must not fail on its tokens, and a token
of an organization that is gone finds nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("org_uuid", sa.String(36), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("hash", name="uq_api_tokens_hash"),
        sa.UniqueConstraint("org_uuid", "name", name="uq_api_tokens_org_name"),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name="ck_api_tokens_role"),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_api_tokens_operator_name", "api_tokens", ["name"], unique=True,
                    sqlite_where=sa.text("org_uuid IS NULL"), postgresql_where=sa.text("org_uuid IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_api_tokens_operator_name", "api_tokens")
    op.drop_table("api_tokens")
