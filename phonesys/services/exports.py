"""The two organization export files: provisioned extensions and number licenses.

Names follow ``<orgUuid>_<exportdatetime>_license_phonesystem_<suffix>.<csv|parquet>`` under
``exports/<orgUuid>/`` in object storage, with ``<exportdatetime>`` always UTC in ISO 8601 basic
form, ``YYYYMMDDTHHMMSSZ`` (e.g. ``20261127T101500Z``): sortable, no characters that need escaping.
Files are written to a temporary local file first and then uploaded in one atomic write.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import Engine

from phonesys.rules.safecsv import write_csv, write_parquet
from phonesys.rules.vocabulary import NUMBER_AVAILABLE, NUMBER_STATUSES
from phonesys.services.local_copy import copy_target, require_usable
from phonesys.storage.inventory.exports import (
    AUDIT_SCHEMA,
    EXTENSION_SCHEMA,
    NUMBER_SCHEMA,
    audit_batches,
    extension_batches,
    number_batches,
)
from phonesys.storage.inventory.lookup import canonical_org_uuid
from phonesys.storage.objects import ObjectStore

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
EXTENSIONS_SUFFIX = "license_phonesystem_provisioned_extension"
NUMBERS_SUFFIX = "license_phonesystem_available_number"
AUDIT_SUFFIX = "license_phonesystem_audit"
ExportFormat = Literal["csv", "parquet"]
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@dataclass(frozen=True)
class ExportResult:
    """A file written to object storage (an export or a report): its key, where to read it, its rows."""

    key: str
    location: str
    rows: int
    format: ExportFormat
    local_copy: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_timestamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def export_key(org_uuid: str, suffix: str, fmt: ExportFormat, when: datetime | None = None) -> str:
    return f"exports/{org_uuid}/{org_uuid}_{export_timestamp(when)}_{suffix}.{fmt}"


def export_extensions(engine: Engine, store: ObjectStore, org_ref: str, fmt: ExportFormat = "csv",
                      output: Path | None = None, when: datetime | None = None) -> ExportResult:
    """Write the provisioned-extension file for one organization to object storage."""
    key = export_key(canonical_org_uuid(org_ref), EXTENSIONS_SUFFIX, fmt, when)
    return write_file(store, key, fmt, lambda: extension_batches(engine, org_ref), EXTENSION_SCHEMA, output)


def export_audit(engine: Engine, store: ObjectStore, org_ref: str, fmt: ExportFormat = "csv",
                 output: Path | None = None, since: datetime | None = None) -> ExportResult:
    """Write the organization's audit events (all, or from ``since``) to object storage; before/after
    are the JSON the log keeps."""
    key = export_key(canonical_org_uuid(org_ref), AUDIT_SUFFIX, fmt)
    return write_file(store, key, fmt, lambda: audit_batches(engine, org_ref, since), AUDIT_SCHEMA, output)


def export_numbers(engine: Engine, store: ObjectStore, org_ref: str, fmt: ExportFormat = "csv",
                   output: Path | None = None, when: datetime | None = None,
                   available_only: bool = False) -> ExportResult:
    """Write the number-license file for one organization to object storage: every number with its
    status and ext key. The file keeps the seed's name (``..._available_number``), which admins'
    scripts look for; ``available_only`` gives just the rows that name promises."""
    key = export_key(canonical_org_uuid(org_ref), NUMBERS_SUFFIX, fmt, when)
    statuses = (NUMBER_AVAILABLE,) if available_only else NUMBER_STATUSES
    return write_file(store, key, fmt, lambda: number_batches(engine, org_ref, statuses), NUMBER_SCHEMA, output)


def write_file(store: ObjectStore, key: str, fmt: ExportFormat, batches: Callable[[], Iterator[pa.RecordBatch]],
               schema: pa.Schema, output: Path | None = None) -> ExportResult:
    """Write Arrow batches as a CSV or Parquet object at ``key`` (and optionally a local copy)."""
    if output is not None:
        require_usable(output)
    writer = write_parquet if fmt == "parquet" else write_csv
    with tempfile.TemporaryDirectory(prefix="phonesys-export-") as tmp:
        local = Path(tmp) / key.rsplit("/", 1)[-1]
        rows = writer(batches(), schema, local)
        store.upload(key, local, content_type=CONTENT_TYPES[fmt])
        copy = _save_copy(local, output) if output else None
    return ExportResult(key=key, location=store.location(key), rows=rows, format=fmt, local_copy=copy)


def _save_copy(local: Path, output: Path) -> str:
    """``--output`` names a file (with an extension) or a folder, made if needed, keeping the name."""
    target = copy_target(output, local.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local, target)
    return str(target)
