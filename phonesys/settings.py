"""Runtime settings, read from the environment (``PHONESYS_*``) and nowhere else.

One place decides where data lives so that the CLI, flows and tests agree: ``PHONESYS_HOME`` is the
data directory, and the inventory defaults to a SQLite file inside it unless
``PHONESYS_DATABASE_URL`` points elsewhere (for example ``postgresql+psycopg://...``). Uploads,
reports and exports live in the folder ``objects`` inside it unless ``PHONESYS_STORAGE_URL`` names
another folder (a path or ``file://`` URL) or an S3 bucket (``s3://bucket/prefix``).
``PHONESYS_BULK_JOBS`` caps the bulk jobs writing at once across all workers, and
``PHONESYS_BULK_LIMITS=off`` turns that cap and the one-job-per-organization rule off
(``phonesys.ops.limits``). ``PHONESYS_LOCK_TIMEOUT`` is how long a command waits for an organization
another job holds before it gives up with ``org-busy`` (someone is waiting for the answer; bulk
chunks wait longer and retry, see ``phonesys.storage.inventory.engine``). ``PHONESYS_ACTOR`` names who
the CLI acts for in the audit log (default ``cli:<login user>``); ``PHONESYS_AUDIT_RETENTION_DAYS`` is how
long audit events are kept before ``phonesys audit prune`` may delete them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BULK_JOBS = 4  # bulk jobs writing at once across all workers (phonesys.ops.limits)
DEFAULT_LOCK_TIMEOUT = 5.0  # seconds a command waits for an organization another job holds
DEFAULT_AUDIT_RETENTION_DAYS = 365  # a year, as the peers keep admin audit events


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "phonesys"


class Settings(BaseSettings):
    """Where phonesys keeps its data and which database holds the inventory."""

    model_config = SettingsConfigDict(env_prefix="PHONESYS_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    storage_url: str | None = None
    bulk_jobs: int = Field(DEFAULT_BULK_JOBS, ge=1)
    bulk_limits: bool = True
    lock_timeout: float = Field(DEFAULT_LOCK_TIMEOUT, gt=0, le=3600)
    actor: str | None = None
    audit_retention_days: int = Field(DEFAULT_AUDIT_RETENTION_DAYS, ge=1, le=36500)

    @property
    def inventory_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'inventory.sqlite3'}"

    @property
    def objects_url(self) -> str:
        """Where object storage lives: ``PHONESYS_STORAGE_URL`` or ``$PHONESYS_HOME/objects``."""
        return self.storage_url or str(self.home / "objects")

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def load_settings() -> Settings:
    return Settings()
