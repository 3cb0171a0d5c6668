"""Alembic migrations of the inventory schema; applied by ``phonesys.storage.inventory.engine.upgrade``."""
