"""The API's template pages (``storage/inventory/template_pages.py``) read in SQL what the CLI's whole
listings give: page after page, the same rows in the same order, and ``total`` counts them all
(on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import update

from phonesys.storage.inventory.schema import templates
from phonesys.storage.inventory.template_pages import template_page, template_users_page
from phonesys.storage.inventory.template_views import list_templates, template_users
from phonesys.storage.inventory.templates import create_template
from tests.bulkfixtures import make_rows, make_template


def test_template_pages_are_the_list_cut_in_sql(engine, org):
    made = [create_template(engine, org.org_uuid, name, []).uuid for name in ("Sales b", "Sales a", "Other", "Sales c")]
    with engine.begin() as connection:  # the same moment for all: the order falls back to name, then UUID
        connection.execute(update(templates).where(templates.c.template_uuid.in_(made))
                           .values(created_at=connection.execute(templates.select()).first().created_at))
    make_template(engine, org, make_rows(org, 2), name="With users")
    for search in (None, "SALES", made[2][:8], "nothing like it"):
        whole = list_templates(engine, org.org_uuid, search)
        pages = [template_page(engine, org.org_uuid, search, limit=2, offset=offset) for offset in range(0, 6, 2)]
        assert [t for page in pages for t in page["templates"]] == whole
        assert {page["total"] for page in pages} == {len(whole)}
    assert [t["total_users"] for t in list_templates(engine, org.org_uuid, "with users")] == [2]


def test_template_user_pages_are_the_rows_cut_in_sql(engine, org):
    template = make_template(engine, org, make_rows(org, 5), files=2)
    whole = template_users(engine, template)
    pages = [template_users_page(engine, template, limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [row for page in pages for row in page["users"]] == whole and len(whole) == 5
    assert [(page["total"], page["limit"], page["offset"]) for page in pages] == [(5, 2, o) for o in (0, 2, 4, 6)]
