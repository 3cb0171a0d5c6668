"""Everything that persists: the inventory database (``phonesys.storage.inventory``) and object storage."""
