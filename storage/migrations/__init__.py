"""Alembic migrations of the inventory schema; applied by ``storage.inventory.engine.upgrade``."""
