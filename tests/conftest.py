"""Shared fixtures: an inventory on SQLite and on PostgreSQL, a CLI runner, a small organization.

PostgreSQL tests use a fresh schema per test inside ``PHONESYS_TEST_POSTGRES_URL`` (default: the role
and database ``.ci/postgres.sh`` creates). Without a reachable server they are skipped with the
reason, unless ``PHONESYS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes them fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy
import typer
from click.testing import CliRunner

from phonesys.cli import app
from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.storage.inventory.engine import dispose_engines, open_engine
from phonesys.storage.inventory.orgs import load_org

# Fixtures of their own modules, available to every test: a moto S3 server, a Prefect test server and
# the bulk-assignment helpers (chunk_spy, fast_retries, prefect_api_url), a webhook receiver (alert_hook).
pytest_plugins = ["tests.s3server", "tests.prefect_harness", "tests.bulkfixtures", "tests.webhook_receiver"]

PG_URL = os.environ.get("PHONESYS_TEST_POSTGRES_URL",
                        "postgresql+psycopg://phonesys:phonesys@127.0.0.1:5432/phonesys_test")
REQUIRE_PG = os.environ.get("PHONESYS_REQUIRE_POSTGRES") == "1"
# A command that runs a flow without PREFECT_API_URL would start its home's lasting Prefect server
# and leave it running; tests' homes are temporary, so their commands (and the CLI processes they
# start, which inherit this) use a temporary server instead. tests/test_home_server.py opts back in.
os.environ.setdefault("PHONESYS_PREFECT_SERVER", "temporary")
_pg_problem: list[str] = []


def _postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None; asked once per session."""
    if not _pg_problem:
        try:
            engine = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect():
                pass
            engine.dispose()
            _pg_problem.append("")
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _pg_problem.append(f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]} "
                               "(run `bash .ci/postgres.sh` as root or set PHONESYS_TEST_POSTGRES_URL)")
    return _pg_problem[0] or None


def _postgres_schema_url() -> Iterator[str]:
    problem = _postgres_unreachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    dispose_engines()
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty inventory database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
        dispose_engines()
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def engine(database_url):
    return open_engine(database_url)


@pytest.fixture
def phonesys_env(database_url, tmp_path, monkeypatch) -> dict[str, str]:
    """Environment that points the CLI (in-process or a subprocess) at the test database."""
    env = {"PHONESYS_HOME": str(tmp_path / "home"), "PHONESYS_DATABASE_URL": database_url}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


_command: list = []


def _click_command():
    if not _command:
        _command.append(typer.main.get_command(app))
    return _command[0]


@pytest.fixture
def cli(phonesys_env):
    """Run ``phonesys ARGS...`` in-process; returns click's Result (stdout, stderr, exit_code).

    The click command is built once per session: typer would rebuild it from the function
    signatures on every call, which is most of the cost of an in-process call."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(_click_command(), list(args), catch_exceptions=False, prog_name="phonesys")

    return invoke


_blocks_used: set[int] = set()


def _number_block(org_uuid: str) -> int:
    return int(uuid.UUID(org_uuid).hex[:4], 16) % 10000


def make_document(org_uuid: str | None = None, *, base: int = 10, addons: dict[str, int] | None = None,
                  numbers: int = 5, users: int = 8, number_prefix: str = "+656") -> OrgDocument:
    """A small organization; numbers and users are unique per org_uuid so orgs never collide.

    The numbers' block (``tag``) comes from the UUID, so one UUID always gives the same document; a
    UUID drawn here also avoids the blocks this process has handed out, since a module that keeps one
    database for all its tests loads a hundred organizations or more, and two of 10,000 blocks
    would otherwise meet about every other run."""
    if org_uuid is None:
        org_uuid = str(uuid.uuid4())
        while _number_block(org_uuid) in _blocks_used:
            org_uuid = str(uuid.uuid4())
    seed, tag = uuid.UUID(org_uuid), _number_block(org_uuid)
    if len(_blocks_used) > 5_000:  # databases live for a test or a module: old blocks are long gone
        _blocks_used.clear()
    _blocks_used.add(tag)
    return OrgDocument(
        org_uuid=org_uuid, name=f"Org {org_uuid[:8]}", base_licenses=base,
        addons=addons if addons is not None else {"Call Recording": 3, "Voicemail": 2},
        numbers=[f"{number_prefix}{tag:04d}{i:03d}" for i in range(numbers)],
        users=[UserEntry(identity_uuid=str(uuid.uuid5(seed, f"user-{i}")), name=f"User {i:03d}")
               for i in range(users)],
    )


@pytest.fixture
def org(engine) -> OrgDocument:
    """A loaded small organization: 10 base licenses, 2 add-on pools, 5 numbers, 8 users."""
    document = make_document()
    load_org(engine, document)
    return document
