"""The migrations build exactly the tables the queries are written against, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import DataError, IntegrityError

from phonesys.storage.inventory import schema_audit  # noqa: F401  (puts the audit and revert tables on metadata)
from phonesys.storage.inventory.schema import extensions, metadata, organizations


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:.*expression-based index:sqlalchemy.exc.SAWarning")
def test_schema_matches_metadata(engine):
    """SQLite cannot reflect an expression index, so alembic skips comparing those (the warnings
    above); the second half checks them there by their definition as SQLite stores it."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        expression_indexes = [index for table in metadata.tables.values() for index in table.indexes
                              if any(not hasattr(part, "name") for part in index.expressions)]
        if engine.dialect.name == "sqlite":
            stored = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
            for index in expression_indexes:
                assert "CAST(ext_key AS INTEGER)" in (stored.get(index.name) or ""), (index.name, stored.get(index.name))
    assert differences == []
    assert [index.name for index in expression_indexes] == ["ix_extensions_org_key_order"]


def test_db_upgrade_command(cli):
    result = cli("db", "upgrade", "--json")
    assert result.exit_code == 0, result.output
    from phonesys.storage.inventory.engine import head_revision

    assert f'"revision": "{head_revision()}"' in result.stdout


@pytest.mark.parametrize("bad_key", ["12", "123456", "12a", " 123", ""])
def test_database_rejects_malformed_ext_keys_itself(engine, org, bad_key):
    """The CHECK constraint stops bad keys even if a caller skips the Python rules."""
    with pytest.raises((IntegrityError, DataError)):  # PostgreSQL reports an over-long key as DataError
        with engine.begin() as connection:
            connection.execute(extensions.insert().values(org_uuid=org.org_uuid, ext_key=bad_key))


def test_database_rejects_oversubscription_itself(engine, org):
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(organizations.update().where(organizations.c.org_uuid == org.org_uuid)
                               .values(base_used=organizations.c.base_total + 1))


def test_database_rejects_cross_org_number(engine, org):
    """A number of another organization cannot be put on this org's extension (composite FK)."""
    from phonesys.storage.inventory.orgs import load_org
    from tests.conftest import make_document

    other = make_document(number_prefix="+659")
    load_org(engine, other)
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(extensions.insert().values(org_uuid=org.org_uuid, ext_key="101",
                                                          number=other.numbers[0]))


def test_rows_failed_under_a_merged_code_get_the_kept_one(engine):
    """Migration 0006 on a database at 0005 with a row failed as ``number-in-use``."""
    from alembic import command
    from sqlalchemy import insert, select

    from phonesys.storage.inventory.engine import _alembic_config
    from phonesys.storage.inventory.schema import template_files, template_rows, templates

    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        connection.execute(insert(organizations).values(org_uuid="o" * 36, name="Old"))
        connection.execute(insert(templates).values(template_uuid="t" * 36, org_uuid="o" * 36, name="Old run"))
        file_id = connection.execute(insert(template_files).values(
            template_uuid="t" * 36, file_name="users.csv", sha256="0" * 64, rows=1, identifier_kind="uuid")
            .returning(template_files.c.id)).scalar_one()
        connection.execute(insert(template_rows).values(
            template_uuid="t" * 36, file_id=file_id, row_number=2, ext_key="101", identity_uuid="u" * 36,
            user_name="Ann", status="failed", reason_code="number-in-use", reason="in use"))
        command.upgrade(config, "head")
        assert connection.execute(select(template_rows.c.reason_code)).scalar_one() == "number-assigned"


def test_ids_are_never_given_out_twice(engine, org):
    """The newest extension deleted, the next one still gets a new id (SQLite would reuse it
    without AUTOINCREMENT, and a ledger keeping the old id would then name a stranger)."""
    from phonesys.storage.inventory.provisioning import delete_extension, provision
    from tests.bulkfixtures import extension_ids as extension_ids_of

    provision(engine, org.org_uuid, 2, "101")
    newest = max(extension_ids_of(engine, org.org_uuid))
    delete_extension(engine, org.org_uuid, "102")
    provision(engine, org.org_uuid, 1, "700")
    assert max(extension_ids_of(engine, org.org_uuid)) > newest


def test_stable_ids_migration_starts_above_every_recorded_id_and_stamps_bulk_extensions(engine):
    """Migration 0007 on a database at 0006: extension 3 was made by a template and then deleted,
    its ledger row still names it; the next extension must not be 3, and extension 2, made by the
    template, learns which template made it."""
    from alembic import command
    from sqlalchemy import insert, select

    from phonesys.storage.inventory.engine import _alembic_config
    from phonesys.storage.inventory.schema import template_files, template_rows, templates

    config = _alembic_config()
    org_uuid, template_uuid = "o" * 36, "t" * 36
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
        connection.execute(insert(organizations).values(org_uuid=org_uuid, name="Old", base_total=5))
        connection.execute(insert(templates).values(template_uuid=template_uuid, org_uuid=org_uuid, name="Old run"))
        file_id = connection.execute(insert(template_files).values(
            template_uuid=template_uuid, file_name="users.csv", sha256="0" * 64, rows=2, identifier_kind="uuid")
            .returning(template_files.c.id)).scalar_one()
        ids = [connection.execute(insert(extensions).values(org_uuid=org_uuid, ext_key=key)
                                  .returning(extensions.c.id)).scalar_one() for key in ("100", "101", "102")]
        for row_number, key, ext_id in ((2, "101", ids[1]), (3, "102", ids[2])):
            connection.execute(insert(template_rows).values(
                template_uuid=template_uuid, file_id=file_id, row_number=row_number, ext_key=key,
                identity_uuid=f"u{row_number}".ljust(36, "0"), user_name="Ann", status="assigned",
                extension_id=ext_id))
        connection.execute(extensions.delete().where(extensions.c.id == ids[2]))
        command.upgrade(config, "head")
        made_by = dict(connection.execute(select(extensions.c.id, extensions.c.template_uuid)).all())
        assert made_by == {ids[0]: None, ids[1]: template_uuid}
        new_id = connection.execute(insert(extensions).values(org_uuid=org_uuid, ext_key="700")
                                    .returning(extensions.c.id)).scalar_one()
        assert new_id > ids[2]


def test_api_tokens_migration_up_and_down_keeps_names_unique_per_scope(engine):
    """Migration 0008 from 0007 and back: the table appears and goes; a name repeats only across scopes
    (an operator token's NULL org is a scope of its own, held by the partial unique index)."""
    from alembic import command
    from sqlalchemy import insert, inspect

    from phonesys.storage.inventory.engine import _alembic_config
    from phonesys.storage.inventory.schema import api_tokens

    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        assert "api_tokens" not in inspect(connection).get_table_names()
        command.upgrade(config, "head")
        for org_uuid, digest in ((None, "a"), ("o" * 36, "b"), ("p" * 36, "c")):
            connection.execute(insert(api_tokens).values(name="ops", org_uuid=org_uuid, role="admin", hash=digest * 64))
    for org_uuid, role in ((None, "admin"), ("o" * 36, "admin"), ("o" * 36, "root")):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            name = "ops" if role == "admin" else "other"
            connection.execute(insert(api_tokens).values(name=name, org_uuid=org_uuid, role=role, hash="d" * 64))
