"""Failed rows recorded before the code table merged aliases get the code that is kept.

Three facts had two codes each; reports and ``template report`` now speak only the kept one, so
rows a bulk run failed earlier are rewritten to it (the reason text is unchanged).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MERGED = {"user-already-assigned": "user-assigned", "ext-key-taken": "ext-key-exists",
          "number-in-use": "number-assigned"}


def _rename(pairs: dict[str, str]) -> None:
    rows = sa.table("template_rows", sa.column("reason_code", sa.String))
    for old, new in pairs.items():
        op.execute(rows.update().where(rows.c.reason_code == old).values(reason_code=new))


def upgrade() -> None:
    _rename(MERGED)


def downgrade() -> None:
    """The old codes cannot be told apart from rows recorded after the merge: leave them merged."""
