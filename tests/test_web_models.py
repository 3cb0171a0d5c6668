"""The API's response models read the storage functions' answers whether they are dicts (today) or
frozen dataclasses of the same field names (what the storage layer is moving to), and write the very
JSON the dicts give; ``/openapi.json`` names a model for every route's success answer."""

from __future__ import annotations

import keyword
from dataclasses import make_dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from phonesys.settings import load_settings
from phonesys.storage.inventory.extension_pages import extension_page
from phonesys.storage.inventory.template_views import list_templates, template_detail, template_users
from phonesys.storage.inventory.usage import org_usage
from phonesys.web import models
from phonesys.web.app import create_app
from tests.bulkfixtures import make_rows, make_template


def as_dataclasses(value: Any) -> Any:
    """The same document as frozen dataclasses wherever its keys could be field names (a mapping of
    add-on SKUs stays a mapping, its values become dataclasses)."""
    if isinstance(value, list):
        return [as_dataclasses(item) for item in value]
    if not isinstance(value, dict):
        return value
    fields = {key: as_dataclasses(item) for key, item in value.items()}
    if not all(key.isidentifier() and not keyword.iskeyword(key) for key in fields):
        return fields
    return make_dataclass("Row", list(fields), frozen=True)(**fields)


def same_json(model: type[BaseModel], document: dict[str, Any]) -> None:
    expected = jsonable_encoder(document)
    assert model.model_validate(document).model_dump(mode="json") == expected
    assert model.model_validate(as_dataclasses(document)).model_dump(mode="json") == expected
    assert list(model.model_validate(document).model_dump(mode="json")) == list(expected)  # order kept


def test_every_model_reads_dicts_and_dataclasses_alike(cli, engine, org):
    assert cli("provision", org.org_uuid, "--start", "101", "--user", org.users[0].identity_uuid,
               "--addon", "Voicemail", "--number", org.numbers[0]).exit_code == 0
    assert cli("provision", org.org_uuid, "--start", "102").exit_code == 0
    template = make_template(engine, org, make_rows(org, 2, first_user=1, first_number=1), addons=("Voicemail",))
    same_json(models.Licenses, org_usage(engine, org.org_uuid))
    same_json(models.ExtensionPage, extension_page(engine, org.org_uuid, limit=10))
    same_json(models.TemplatePage, {"total": 1, "limit": 1, "offset": 0,
                                    "templates": list_templates(engine, org.org_uuid)})
    same_json(models.Template, template_detail(engine, template))
    same_json(models.TemplateUserPage, {"total": 2, "limit": 2, "offset": 0, "users": template_users(engine, template)})


def test_openapi_names_a_model_for_every_success_and_the_problem_document(phonesys_env):
    spec = create_app(load_settings()).openapi()
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            success = min(status for status in operation["responses"] if status.startswith("2"))
            content = operation["responses"][success]["content"]
            assert "$ref" in content.get("application/json", {}).get("schema", {}) or "text/csv" in content, path
            assert operation["responses"]["401"]["content"]["application/problem+json"]
    assert {"Licenses", "ExtensionPage", "Extension", "TemplatePage", "Template", "TemplateUserPage", "Report",
            "ProblemDocument", "Accepted", "StartPlan", "Uploaded", "AuditEvents"} <= set(spec["components"]["schemas"])
