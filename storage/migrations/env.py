"""Alembic environment: always runs on the connection ``phonesys.storage.inventory.engine`` hands over.

That caller already holds the migration lock (a SQLite write transaction or a PostgreSQL advisory
lock), so two processes opening a fresh database at once never both create the schema.
"""

from alembic import context

from phonesys.storage.inventory import schema_audit  # noqa: F401  (puts the audit and revert tables on metadata)
from phonesys.storage.inventory.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
