"""The response documents of ``/api/v1``, so ``/openapi.json`` describes every field a route returns.

The storage functions answer with dicts today and with frozen dataclasses of the same field names
soon; ``from_attributes`` lets every model read either. Field order is the order the JSON has always
had. Timestamps the storage gives as ISO text stay text; a ``datetime`` is written in ISO 8601.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phonesys.rules.errors import Problem
from phonesys.storage.inventory.results import FailedRow
from phonesys.web.problems import MEDIA_TYPE


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Pool(Model):
    """A license pool: ``held`` is reserved by in-progress templates, ``available`` is what is left."""

    total: int
    used: int
    held: int
    available: int


class Numbers(Model):
    total: int
    assigned: int
    held: int
    available: int


class Users(Model):
    total: int
    assigned: int
    held: int
    unassigned: int


class ExtensionCounts(Model):
    total: int
    with_user: int
    without_user: int


class Licenses(Model):
    """``phonesys org show --json`` without ``ok``."""

    org_uuid: str
    name: str
    base_licenses: Pool
    addons: dict[str, Pool] = Field(description="One pool per add-on SKU.")
    numbers: Numbers
    users: Users
    extensions: ExtensionCounts


class ExtensionUser(Model):
    identity_uuid: str
    name: str


class Extension(Model):
    """``phonesys ext show --json`` without ``ok``."""

    ext_key: str
    directory_name: str | None
    user: ExtensionUser | None
    number: str | None
    addons: list[str]


class Page(Model):
    total: int = Field(description="Every item that matches, not only this page's.")
    limit: int
    offset: int


class ExtensionPage(Page):
    extensions: list[Extension]


class TemplateListed(Model):
    uuid: str
    name: str
    total_users: int
    status: str
    cancelled: bool = Field(False, description="Ended by `template cancel` (its status is completed).")
    revert: str | None = Field(None, description="reverting / reverted once `template revert` started.")


class TemplatePage(Page):
    templates: list[TemplateListed]


class TemplateFile(Model):
    file_name: str
    object_key: str | None
    sha256: str
    rows: int
    identifier_kind: str


class Template(Model):
    """``phonesys template show --json`` without ``ok``."""

    uuid: str
    org_uuid: str
    name: str
    status: str
    addons: list[str]
    total_users: int
    created_at: str | datetime | None
    policy: str | None
    report_key: str | None
    export_key: str | None
    files: list[TemplateFile]
    cancelled: bool = Field(False, description="Ended by `template cancel` (its status is completed).")
    revert: str | None = Field(None, description="reverting / reverted once `template revert` started.")


class TemplateUser(Model):
    ext_key: str
    user_name: str | None
    identity_uuid: str | None
    number: str | None
    file: str
    row: int


class TemplateUserPage(Page):
    users: list[TemplateUser]


class RowCounts(Model):
    pending: int
    assigned: int
    failed: int


class Report(Model):
    """``phonesys template report --json`` without ``ok``, except ``report`` and ``export``: the routes
    that download them once written (``/api/v1/templates/{t}/report/file``, ``.../export/file``), not
    their locations in object storage."""

    uuid: str
    name: str
    status: str
    counts: RowCounts
    failed_rows: list[FailedRow]
    report: str | None
    export: str | None
    local_copy: str | None


class ProblemDocument(Model):
    """RFC 9457 ``application/problem+json``; ``code`` and ``detail`` repeat the first problem."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    problems: list[Problem]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a router's routes may answer with (only as
    ``application/problem+json``: FastAPI's ``model`` would list them as ``application/json`` too)."""
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}
    return {status: {"content": content, "description": DESCRIPTIONS[status]} for status in statuses}


def problem_schemas() -> dict[str, Any]:
    """The components ``problem_responses`` refers to, for the app to add to its OpenAPI document."""
    schema = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"ProblemDocument": schema, **schema.pop("$defs", {})}


DESCRIPTIONS = {401: "No token, or an unknown or revoked one (token-invalid).",
                403: "A viewer token asked for a change (token-forbidden); nothing changed.",
                409: "The inventory's state stands in the way (the CLI's code); nothing changed.",
                413: "An upload passed its limit while streaming (file-too-large, request-too-large).",
                404: "Not found, or not the token's to see (the same answer).",
                422: "A value breaks a rule (the CLI's code), or a query value is out of range (request-invalid).",
                503: "The organization is busy or the database unavailable; try again (Retry-After)."}
