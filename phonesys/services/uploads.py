"""Uploading CSV files into a draft template: fetch, validate every file, accept all or nothing.

One ``template upload`` is one request: every file is validated (each against the template's rows
and the files before it in the same request), and only if all pass are their rows appended, in
one transaction. Every uploaded file is kept in object storage (local files are copied to
``uploads/<orgUuid>/<templateUuid>/``); a rejected file gets ``<key>.errors.csv`` next to it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, Row, select

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.status import require_allowed
from phonesys.rules.validation import (
    MAX_FILE_BYTES,
    TEMPLATE_ROWS_SCHEMA,
    InventorySnapshot,
    ValidationResult,
    check_size,
    problems_csv,
    validate_upload,
)
from phonesys.services.exports import export_timestamp
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.schema import template_files, template_rows
from phonesys.storage.inventory.snapshot import snapshot_from_inventory
from phonesys.storage.inventory.templates import AcceptedFile, accept_files, get_template
from phonesys.storage.objects import ObjectStore


@dataclass(frozen=True)
class UploadSource:
    """A file to upload: a local path, or a key in object storage."""

    path: Path | None = None
    key: str | None = None

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else str(self.key).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class UploadedFile:
    """One accepted file: how many users it added, how they were named, where it is kept."""

    file_name: str
    rows: int
    identifier_kind: str
    object_key: str
    location: str


@dataclass(frozen=True)
class UploadResult:
    """An accepted upload: the template's user count after it, and each file it added."""

    uuid: str
    total_users: int
    files: tuple[UploadedFile, ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``template upload --json`` document."""
        return {"uuid": self.uuid, "total_users": self.total_users, "files": [asdict(f) for f in self.files]}


def upload_files(engine: Engine, store: ObjectStore, template_ref: str, sources: list[UploadSource]) -> UploadResult:
    """Validate every file, then add all of them or none (a rejected file's problems go to its errors file)."""
    template = _draft(engine, template_ref)
    fetched = [_fetch(store, template, source) for source in sources]
    results = _validate_all(engine, template, fetched)
    rejected = [(key, r) for (key, _, _), r in zip(fetched, results) if not r.accepted]
    if rejected:
        errors = [_write_errors(store, key, result) for key, result in rejected]
        raise Refused([p for _, r in rejected for p in r.problems], details={"errors_files": errors})
    files = [_uploaded(store, key, r) for (key, _, _), r in zip(fetched, results)]
    accepted = [AcceptedFile(r.file_name, f.object_key, r.sha256, f.identifier_kind, r.rows)
                for f, r in zip(files, results)]
    total = accept_files(engine, template.template_uuid, accepted)
    return UploadResult(uuid=template.template_uuid, total_users=total, files=tuple(files))


def _uploaded(store: ObjectStore, key: str, result: ValidationResult) -> UploadedFile:
    """An accepted file always has an identifier kind (its header named one)."""
    assert result.identifier_kind is not None, result.file_name
    return UploadedFile(file_name=result.file_name, rows=result.rows.num_rows, identifier_kind=result.identifier_kind,
                        object_key=key, location=store.location(key))


def _draft(engine: Engine, template_ref: str) -> Row[Any]:
    with read_transaction(engine) as connection:
        template = get_template(connection, template_ref)
    require_allowed(template.template_uuid, template.status, "upload")
    return template


def _fetch(store: ObjectStore, template: Row[Any], source: UploadSource) -> tuple[str, str, bytes]:
    """(object key, file name, bytes); the size is checked before any byte is read."""
    if source.key is not None:
        too_big = check_size(store.stat(source.key).size, source.name)
        if too_big:
            raise Refused(too_big)
        return source.key, source.name, store.read_bytes(source.key, max_bytes=MAX_FILE_BYTES)
    path = source.path
    if path is None or not path.is_file():
        raise Refused(Problem("file-not-found", f"No such file: {path}", file=str(path)))
    too_big = check_size(path.stat().st_size, source.name)
    if too_big:
        raise Refused(too_big)
    data = path.read_bytes()
    key = f"uploads/{template.org_uuid}/{template.template_uuid}/{export_timestamp()}_{safe_name(source.name)}"
    store.write_bytes(key, data, content_type="text/csv")
    return key, source.name, data


def _validate_all(engine: Engine, template: Row[Any], files: list[tuple[str, str, bytes]]) -> list[ValidationResult]:
    with read_transaction(engine) as connection:
        existing = _template_rows(connection, template.template_uuid)
        snapshot = snapshot_from_inventory(connection, template.org_uuid, existing)
    results = []
    for _key, name, data in files:
        result = validate_upload(data, name, snapshot)
        results.append(result)
        if result.accepted:  # later files in the same request see this one's rows
            snapshot = _with_rows(snapshot, result)
    return results


def _template_rows(connection: Connection, template_uuid: str) -> pa.Table:
    rows = connection.execute(
        select(template_rows.c.ext_key, template_rows.c.identity_uuid, template_rows.c.number,
               template_files.c.file_name, template_rows.c.row_number)
        .join(template_files, template_files.c.id == template_rows.c.file_id)
        .where(template_rows.c.template_uuid == template_uuid)).all()
    columns: list[tuple[Any, ...]] = list(zip(*rows)) or [() for _ in TEMPLATE_ROWS_SCHEMA.names]
    return pa.Table.from_arrays([pa.array(c, t) for c, t in zip(columns, TEMPLATE_ROWS_SCHEMA.types)],
                                schema=TEMPLATE_ROWS_SCHEMA)


def _with_rows(snapshot: InventorySnapshot, result: ValidationResult) -> InventorySnapshot:
    added = pa.table({"ext_key": result.rows["ext_key"], "identity_uuid": result.rows["identity_uuid"],
                      "number": result.rows["number"],
                      "file_name": pa.array([result.file_name] * result.rows.num_rows, pa.string()),
                      "row": result.rows["row"].cast(pa.int32())})
    return replace(snapshot, template_rows=pa.concat_tables([snapshot.template_rows, added.cast(TEMPLATE_ROWS_SCHEMA)]))


def _write_errors(store: ObjectStore, key: str, result: ValidationResult) -> str:
    errors_key = f"{key}.errors.csv"
    store.write_bytes(errors_key, problems_csv(result.problems), content_type="text/csv; charset=utf-8")
    return store.location(errors_key)


def safe_name(name: str) -> str:
    """A file name that fits the object-key allowlist: odd characters become '_'."""
    cleaned = re.sub(r"[^A-Za-z0-9._()+-]", "_", name).strip("._") or "upload.csv"
    return cleaned[-120:]
