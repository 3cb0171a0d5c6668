"""Bulk assignment templates: create, rename, change add-ons, accept uploads, duplicate, delete.

Every change locks the template's organization (as all inventory writes do), re-reads the
template's status inside that transaction and applies ``phonesys.rules.status`` there, so a
template that was started a moment ago can no longer be edited.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select

from phonesys.rules import refusals
from phonesys.rules.assignable import Taken
from phonesys.rules.errors import NotFound, Problem, Refused, refuse_if
from phonesys.rules.limits import TEMPLATE_NAME_MAX, TEMPLATE_ROW_LIMIT
from phonesys.rules.status import COMPLETED, DRAFT, require_allowed
from phonesys.rules.values import check_sku, check_template_name, check_uuid
from phonesys.rules.vocabulary import FAILED
from phonesys.storage.inventory.audit import Event, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.pools import addon_problems
from phonesys.storage.inventory.results import (
    NewTemplate,
    TemplateAddons,
    TemplateCopy,
    TemplateDeleted,
    TemplateRenamed,
)
from phonesys.storage.inventory.schema import template_addons, template_files, template_rows, templates
from phonesys.storage.inventory.still_assignable import split_rows, taken_now

if TYPE_CHECKING:  # only uploads build tables; template list/show must not load pyarrow
    import pyarrow as pa


@dataclass(frozen=True)
class AcceptedFile:
    """One validated upload: its name, where it is kept in storage, and its canonical rows."""

    file_name: str
    object_key: str | None
    sha256: str
    identifier_kind: str
    rows: pa.Table  # row, ext_key, identity_uuid, user_name, number


def get_template(connection: Connection, template_ref: str) -> Row[Any]:
    checked = check_uuid(template_ref, "template")
    if isinstance(checked, Problem):
        raise Refused(refusals.template_uuid_invalid(template_ref))
    row = connection.execute(select(templates).where(templates.c.template_uuid == checked)).first()
    if row is None:
        raise NotFound(refusals.template_not_found(checked, template_ref))
    return row


def locked_template(connection: Connection, template_ref: str, action: str) -> Row[Any]:
    """The template, with its organization locked and ``action`` checked against its status."""
    template = get_template(connection, template_ref)
    lock_org(connection, template.org_uuid)
    template = get_template(connection, template_ref)  # re-read under the lock
    require_allowed(template.template_uuid, template.status, action)
    return template


def create_template(engine: Engine, org_ref: str, name: str, addons: Iterable[str]) -> NewTemplate:
    checked_name = check_template_name(name)
    skus, problems = _checked_skus(addons)
    problems += [checked_name] if isinstance(checked_name, Problem) else []
    refuse_if(problems)
    template_uuid = str(uuid.uuid4())
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        refuse_if(_unknown_addons(connection, org.org_uuid, skus))
        connection.execute(insert(templates).values(template_uuid=template_uuid, org_uuid=org.org_uuid,
                                                    name=checked_name, status=DRAFT))
        _insert_addons(connection, template_uuid, org.org_uuid, skus)
        record(connection, _event("template.create", org.org_uuid, template_uuid, None,
                                  {"name": checked_name, "addons": skus}))
    assert isinstance(checked_name, str), "a bad name is a problem, so refuse_if raised"
    return NewTemplate(uuid=template_uuid, name=checked_name, status=DRAFT, addons=tuple(skus))


def rename_template(engine: Engine, template_ref: str, name: str) -> TemplateRenamed:
    checked_name = check_template_name(name)
    refuse_if([checked_name] if isinstance(checked_name, Problem) else [])
    with write_transaction(engine) as connection:
        template = locked_template(connection, template_ref, "rename")
        connection.execute(templates.update().where(templates.c.template_uuid == template.template_uuid)
                           .values(name=checked_name))
        record(connection, _event("template.rename", template.org_uuid, template.template_uuid,
                                  {"name": template.name}, {"name": checked_name}))
    assert isinstance(checked_name, str), "a bad name is a problem, so refuse_if raised"
    return TemplateRenamed(uuid=template.template_uuid, name=checked_name)


def set_template_addons(engine: Engine, template_ref: str, addons: Iterable[str]) -> TemplateAddons:
    skus, problems = _checked_skus(addons)
    refuse_if(problems)
    with write_transaction(engine) as connection:
        template = locked_template(connection, template_ref, "set-addons")
        refuse_if(_unknown_addons(connection, template.org_uuid, skus))
        before = _template_skus(connection, template.template_uuid)
        connection.execute(delete(template_addons).where(template_addons.c.template_uuid == template.template_uuid))
        _insert_addons(connection, template.template_uuid, template.org_uuid, skus)
        record(connection, _event("template.set-addons", template.org_uuid, template.template_uuid,
                                  {"addons": before}, {"addons": skus}))
    return TemplateAddons(uuid=template.template_uuid, addons=tuple(skus))


def accept_files(engine: Engine, template_ref: str, files: Sequence[AcceptedFile]) -> int:
    """Append validated uploads to a draft template in one transaction; returns the new row count."""
    with write_transaction(engine) as connection:
        template = locked_template(connection, template_ref, "upload")
        total: int = row_count(connection, template.template_uuid) + sum(f.rows.num_rows for f in files)
        if total > TEMPLATE_ROW_LIMIT:
            raise Refused(refusals.template_user_limit(total, TEMPLATE_ROW_LIMIT))
        for accepted in files:
            _insert_file(connection, template.template_uuid, accepted)
        record(connection, _event("template.upload", template.org_uuid, template.template_uuid, None, {
            "files": [{"file_name": f.file_name, "rows": f.rows.num_rows, "sha256": f.sha256} for f in files],
            "total_users": total}))
        return total


def delete_template(engine: Engine, template_ref: str) -> TemplateDeleted:
    with write_transaction(engine) as connection:
        template = locked_template(connection, template_ref, "delete")
        before = {"name": template.name, "status": template.status,
                  "total_users": row_count(connection, template.template_uuid)}
        for table in (template_rows, template_files, template_addons, templates):
            connection.execute(delete(table).where(table.c.template_uuid == template.template_uuid))
        record(connection, _event("template.delete", template.org_uuid, template.template_uuid, before, None))
    return TemplateDeleted(uuid=template.template_uuid)


def duplicate_template(engine: Engine, template_ref: str, name: str | None = None,
                       failed_only: bool = False) -> TemplateCopy:
    """A new draft with the same add-ons, files and rows (the seed's Duplicate).

    ``failed_only`` copies just the rows whose assignment failed, so they can be fixed and retried.
    A completed template's copy keeps only the rows still assignable (``still_assignable``); when
    none is, the copy is refused with the reasons.
    """
    with write_transaction(engine) as connection:
        source = locked_template(connection, template_ref, "duplicate")
        new_name = check_template_name(f"Copy of {source.name}"[:TEMPLATE_NAME_MAX] if name is None else name)
        refuse_if([new_name] if isinstance(new_name, Problem) else [])
        new_uuid = str(uuid.uuid4())
        connection.execute(insert(templates).values(template_uuid=new_uuid, org_uuid=source.org_uuid,
                                                    name=new_name, status=DRAFT))
        skus = connection.execute(select(template_addons.c.sku).where(
            template_addons.c.template_uuid == source.template_uuid)).scalars().all()
        _insert_addons(connection, new_uuid, source.org_uuid, skus)
        taken = taken_now(connection, source.org_uuid) if source.status == COMPLETED else None
        left_out: Counter[str] = Counter()
        copied = _copy_files_and_rows(connection, source.template_uuid, new_uuid, failed_only, taken, left_out)
        if failed_only and not copied and not left_out:
            raise Refused(refusals.template_no_failed_rows(source.template_uuid, template_ref))
        if not copied and left_out:
            raise Refused(refusals.template_nothing_to_assign(source.template_uuid, left_out))
        record(connection, _event("template.duplicate", source.org_uuid, new_uuid, None, {
            "name": new_name, "source": source.template_uuid, "failed_only": failed_only, "total_users": copied}))
    assert isinstance(new_name, str), "a bad name is a problem, so refuse_if raised"
    return TemplateCopy(uuid=new_uuid, name=new_name, status=DRAFT, source=source.template_uuid,
                        total_users=copied, left_out=dict(sorted(left_out.items())))


def _event(action: str, org_uuid: str, template_uuid: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> Event:
    return Event(action, org_uuid, "template", template_uuid, before, after, template_uuid=template_uuid)


def _template_skus(connection: Connection, template_uuid: str) -> list[str]:
    return list(connection.execute(select(template_addons.c.sku).where(
        template_addons.c.template_uuid == template_uuid).order_by(template_addons.c.sku)).scalars())


def row_count(connection: Connection, template_uuid: str) -> int:
    return connection.execute(select(func.count()).select_from(template_rows).where(
        template_rows.c.template_uuid == template_uuid)).scalar_one()


def _checked_skus(addons: Iterable[str]) -> tuple[list[str], list[Problem]]:
    checked = [check_sku(a) for a in addons]
    problems = [c for c in checked if isinstance(c, Problem)]
    return sorted({c for c in checked if isinstance(c, str)}), problems


def _unknown_addons(connection: Connection, org_uuid: str, skus: list[str]) -> list[Problem]:
    """Only unknown SKUs refuse here; whether enough licenses remain is decided at start."""
    return [p for p in addon_problems(connection, org_uuid, {s: 0 for s in skus}) if p.code == "addon-unknown"]


def _insert_addons(connection: Connection, template_uuid: str, org_uuid: str, skus: Sequence[str]) -> None:
    if skus:
        connection.execute(insert(template_addons), [
            {"template_uuid": template_uuid, "org_uuid": org_uuid, "sku": sku} for sku in skus])


def _insert_file(connection: Connection, template_uuid: str, accepted: AcceptedFile) -> None:
    file_id = connection.execute(insert(template_files).values(
        template_uuid=template_uuid, file_name=accepted.file_name, object_key=accepted.object_key,
        sha256=accepted.sha256, rows=accepted.rows.num_rows, identifier_kind=accepted.identifier_kind,
    ).returning(template_files.c.id)).scalar_one()
    columns = accepted.rows.to_pydict()
    connection.execute(insert(template_rows), [
        {"template_uuid": template_uuid, "file_id": file_id, "row_number": row, "ext_key": key,
         "identity_uuid": identity, "user_name": name, "number": number}
        for row, key, identity, name, number in zip(columns["row"], columns["ext_key"],
                                                    columns["identity_uuid"], columns["user_name"],
                                                    columns["number"])])


def _copy_files_and_rows(connection: Connection, source: str, target: str, failed_only: bool,
                         taken: Taken | None, left_out: Counter[str]) -> int:
    """Copy file records and their rows (as pending rows); returns how many rows were copied. With
    ``taken`` only the rows still assignable are copied, the rest counted in ``left_out``."""
    files = connection.execute(select(template_files).where(template_files.c.template_uuid == source)
                               .order_by(template_files.c.id)).all()
    copied = 0
    for file in files:
        query = select(template_rows).where(template_rows.c.file_id == file.id).order_by(template_rows.c.id)
        rows = connection.execute(query.where(template_rows.c.status == FAILED) if failed_only else query).all()
        rows = rows if taken is None else split_rows(rows, taken, left_out)
        if not rows:
            continue
        new_id = connection.execute(insert(template_files).values(
            template_uuid=target, file_name=file.file_name, object_key=file.object_key, sha256=file.sha256,
            rows=len(rows), identifier_kind=file.identifier_kind).returning(template_files.c.id)).scalar_one()
        connection.execute(insert(template_rows), [
            {"template_uuid": target, "file_id": new_id, "row_number": r.row_number, "ext_key": r.ext_key,
             "identity_uuid": r.identity_uuid, "user_name": r.user_name, "number": r.number} for r in rows])
        copied += len(rows)
    return copied
