"""Everything that persists: the inventory database (``storage.inventory``) and object storage."""
