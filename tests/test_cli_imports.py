"""Read commands import only what they need (issue 22): a person waits for every module loaded.

Each command runs as a shell runs it, a new process, on a real SQLite inventory at head; the
process reports the modules it loaded as it exits. ``--help`` and the read commands must not load
Prefect, DuckDB, Arrow, boto3, alembic (the schema is at head), phonenumbers or pydantic-settings
(typer itself loads pydantic); a database behind head still migrates (loading alembic for it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from phonesys.storage.inventory.engine import dispose_engines, head_revision, open_engine, scripted_head
from tests.bulkfixtures import ROOT

HEAVY = ("prefect", "duckdb", "pyarrow", "boto3", "botocore", "alembic", "phonenumbers",
         "pydantic_settings", "fastapi", "httpx", "psycopg")
REPORT = ("import atexit, json, sys; atexit.register(lambda: sys.stderr.write('LOADED ' + json.dumps("
          "sorted({m.split('.')[0] for m in sys.modules})) + '\\n')); from phonesys.cli import main; main()")


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory shared by this test and the CLI processes it starts."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def loaded(env: dict[str, str], *args: str) -> set[str]:
    """The top-level packages ``phonesys ARGS`` loaded, run in a new process."""
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", REPORT, *args], env=full_env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode in (0, 1), done.stderr  # 1: a refusal (no such extension) is a read too
    line = next(text for text in done.stderr.splitlines() if text.startswith("LOADED "))
    return set(json.loads(line.removeprefix("LOADED ")))


def test_read_commands_load_no_heavy_package(cli, org, phonesys_env):
    template = cli("template", "create", org.org_uuid, "--name", "Reads").stdout.strip()
    dispose_engines()
    commands = [("--help",), ("org", "show", org.org_uuid), ("org", "list"), ("ext", "list", org.org_uuid),
                ("ext", "show", org.org_uuid, "101"), ("template", "list", org.org_uuid),
                ("template", "show", template), ("token", "list", org.org_uuid), ("server", "status")]
    for command in commands:
        modules = loaded(phonesys_env, *command)
        reads_inventory = command[0] not in ("--help", "server")
        assert ("sqlalchemy" in modules) == reads_inventory, command  # the rest do not even load sqlalchemy
        assert [name for name in HEAVY if name in modules] == [], command


def test_a_database_behind_head_still_migrates(phonesys_env, database_url):
    """The fast at-head check must not skip a migration: a database one revision behind head is
    upgraded by the next read command, which loads alembic for it."""
    from alembic import command

    from phonesys.storage.inventory.engine import _alembic_config, current_revision

    engine = open_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert current_revision(engine) != head_revision()
    dispose_engines()
    assert "alembic" in loaded(phonesys_env, "org", "list")
    assert current_revision(open_engine(database_url)) == head_revision()


def test_the_head_read_from_the_scripts_is_alembics():
    assert scripted_head() == head_revision()
