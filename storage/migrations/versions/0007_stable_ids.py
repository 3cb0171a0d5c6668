"""Ids are never reused, and an extension remembers the template that made it.

SQLite hands the largest deleted rowid to the next insert unless the table is declared
``AUTOINCREMENT``; an id kept elsewhere (``template_rows.extension_id``) would then name an
extension its row never made. The id tables are rebuilt with ``AUTOINCREMENT`` and their
sequence starts above every id ever recorded, including ids of extensions deleted before this
migration that a ledger row still names. PostgreSQL sequences never hand an id out twice already.

``extensions.template_uuid`` is the template whose bulk run created the extension (NULL for one
provisioned by hand), so undoing a template removes only what it made. Extensions made by earlier
runs are stamped from the ledger where row and extension still agree on organization and key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID_TABLES = ("extensions", "template_files", "template_rows", "dropfolder_requests")


def _rebuild_with_autoincrement(table: str) -> None:
    """Recreate the table from its own DDL with ``AUTOINCREMENT`` added, keeping its rows and ids.

    Foreign keys stay on (a migration runs inside a transaction, where SQLite ignores turning them
    off), so they are deferred to commit, and the rows are put back *after* the old table is
    dropped: SQLite counts the references a drop leaves dangling and uncounts them only as rows
    come back into a table of the referenced name. A copy-then-rename would leave them counted."""
    bind = op.get_bind()
    ddl = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    indexes = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                   "AND sql IS NOT NULL", (table,)).scalars().all()
    if "AUTOINCREMENT" in ddl:  # upgraded before, downgraded (which keeps it), upgraded again
        return
    new_ddl = _with_autoincrement(ddl)
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMPORARY TABLE stable_ids_copy AS SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(new_ddl)
    op.execute(f"INSERT INTO {table} SELECT * FROM stable_ids_copy")
    op.execute("DROP TABLE stable_ids_copy")
    for index in indexes:
        op.execute(index)


def _with_autoincrement(ddl: str) -> str:
    """``id INTEGER NOT NULL, ... PRIMARY KEY (id)`` becomes ``id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT``."""
    column, key = "\tid INTEGER NOT NULL, \n", "\tPRIMARY KEY (id), \n"
    if ddl.count(column) != 1 or ddl.count(key) != 1:
        raise RuntimeError(f"unexpected table definition, not rebuilt: {ddl}")
    return ddl.replace(column, "\tid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, \n").replace(key, "")


def _seed_extension_sequence() -> None:
    """Start above any extension id a ledger row names, even one whose extension is gone.

    ``sqlite_sequence`` has no key on ``name``: replace the table's row rather than add a second."""
    high = ("SELECT max(seq) FROM (SELECT coalesce(max(id), 0) AS seq FROM extensions UNION ALL "
            "SELECT coalesce(max(extension_id), 0) FROM template_rows UNION ALL "
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'extensions')")
    seq = op.get_bind().execute(sa.text(high)).scalar_one()
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'extensions'")
    op.get_bind().execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('extensions', :seq)"),
                          {"seq": seq})


def _stamp_bulk_extensions() -> None:
    op.execute("UPDATE extensions SET template_uuid = (SELECT r.template_uuid FROM template_rows r "
                "JOIN templates t ON t.template_uuid = r.template_uuid WHERE r.status = 'assigned' "
                "AND r.extension_id = extensions.id AND r.ext_key = extensions.ext_key "
                "AND t.org_uuid = extensions.org_uuid)")


def upgrade() -> None:
    op.add_column("extensions", sa.Column("template_uuid", sa.String(36), nullable=True))
    op.create_index("ix_extensions_org_template", "extensions", ["org_uuid", "template_uuid"])
    _stamp_bulk_extensions()
    if op.get_context().dialect.name != "sqlite":
        return
    for table in ID_TABLES:
        _rebuild_with_autoincrement(table)
    _seed_extension_sequence()


def downgrade() -> None:
    """Keeps AUTOINCREMENT: giving ids out twice again is never wanted."""
    op.drop_index("ix_extensions_org_template", "extensions")
    with op.batch_alter_table("extensions") as batch:
        batch.drop_column("template_uuid")
