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
chunks wait longer and retry, see ``phonesys.storage.inventory.engine``). ``PHONESYS_PREFECT_SERVER``
says what a command that runs a flow without ``PREFECT_API_URL`` uses: the home's ``lasting`` local
server, started once in the background (``phonesys.ops.homeserver``), or a ``temporary`` one that
ends with the command (nothing left running: the tests, a one-off cron job). ``PHONESYS_ACTOR`` names
who the CLI acts for in the audit log (default ``cli:<login user>``); ``PHONESYS_AUDIT_RETENTION_DAYS``
is how long audit events are kept before ``phonesys db prune-audit`` may delete them.
``PHONESYS_WEB_SECRET`` signs the web console's session cookies (``phonesys.web.console.sessions``).

Read with the standard library alone (no pydantic-settings): every command reads them first, and
that import was a sixth of a read command's time. A value that does not parse is a ``SettingInvalid`` (a
``ValueError``) naming the variable; ``load_settings`` gathers them all into one ``SettingsInvalid``,
which the CLI prints as ``error setting-invalid: ...`` lines and exit status 78 (EX_CONFIG).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, cast

DEFAULT_BULK_JOBS = 4  # bulk jobs writing at once across all workers (phonesys.ops.limits)
DEFAULT_LOCK_TIMEOUT = 5.0  # seconds a command waits for an organization another job holds
DEFAULT_AUDIT_RETENTION_DAYS = 365  # a year, as the peers keep admin audit events
PrefectServer = Literal["lasting", "temporary"]
_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


def _env(name: str) -> str | None:
    """``PHONESYS_<NAME>``, None when unset or empty."""
    return os.environ.get(f"PHONESYS_{name.upper()}") or None


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "phonesys"


def _home() -> Path:
    value = _env("home")
    return Path(value) if value else _default_home()


class SettingInvalid(ValueError):
    """One ``PHONESYS_*`` value that does not parse; ``variable`` and ``raw`` say which and what."""

    def __init__(self, name: str, raw: str | None, expected: str):
        self.variable, self.raw = f"PHONESYS_{name.upper()}", raw
        super().__init__(f"{self.variable}={raw!r}: expected {expected}")


class SettingsInvalid(ValueError):
    """Every value that does not parse, so one run names them all rather than one per attempt."""

    def __init__(self, invalid: list[SettingInvalid]):
        self.invalid = invalid
        super().__init__("; ".join(str(each) for each in invalid))


def _number(name: str, default: float, low: float, high: float, kind: type[int] | type[float]) -> float:
    raw = _env(name)
    try:
        value = kind(raw) if raw is not None else default
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingInvalid(name, raw, f"a {'whole ' if kind is int else ''}number from {low:g} to {high:g}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() not in _TRUE + _FALSE:
        raise SettingInvalid(name, raw, "on or off (true/false, 1/0)")
    return raw.lower() in _TRUE


def _prefect_server() -> PrefectServer:
    raw = (_env("prefect_server") or "lasting").lower()
    if raw not in ("lasting", "temporary"):
        raise SettingInvalid("prefect_server", raw, "lasting or temporary")
    return cast(PrefectServer, raw)


@dataclass(frozen=True)
class Settings:
    """Where phonesys keeps its data and which database holds the inventory; ``Settings()`` reads
    the environment as it is now."""

    home: Path = field(default_factory=_home)
    database_url: str | None = field(default_factory=lambda: _env("database_url"))
    storage_url: str | None = field(default_factory=lambda: _env("storage_url"))
    bulk_jobs: int = field(default_factory=lambda: int(_number("bulk_jobs", DEFAULT_BULK_JOBS, 1, 10_000, int)))
    bulk_limits: bool = field(default_factory=lambda: _flag("bulk_limits", True))
    lock_timeout: float = field(default_factory=lambda: _number("lock_timeout", DEFAULT_LOCK_TIMEOUT, 0.001,
                                                                3600, float))
    prefect_server: PrefectServer = field(default_factory=_prefect_server)
    actor: str | None = field(default_factory=lambda: _env("actor"))
    audit_retention_days: int = field(default_factory=lambda: int(_number(
        "audit_retention_days", DEFAULT_AUDIT_RETENTION_DAYS, 1, 36_500, int)))
    web_secret: str | None = field(default_factory=lambda: _env("web_secret"), repr=False)

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
    """The settings, or ``SettingsInvalid`` naming every ``PHONESYS_*`` value that does not parse."""
    try:
        return Settings()
    except SettingInvalid:
        raise SettingsInvalid(_every_invalid()) from None


def _every_invalid() -> list[SettingInvalid]:
    found = []
    for each in fields(Settings):
        try:
            each.default_factory()  # type: ignore[operator]  # every field has one
        except SettingInvalid as invalid:
            found.append(invalid)
    return found
