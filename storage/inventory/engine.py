"""Opening the inventory database: one engine per URL, migrated to head on first use.

SQLite is tuned for several writer processes on one file: WAL, a busy timeout, foreign keys on,
and write transactions that start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing when a read lock cannot be upgraded. Read-only work uses a plain deferred ``BEGIN``.
PostgreSQL: writers lock the organization row they change; reads run at REPEATABLE READ.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from phonesys.rules.errors import Conflict, Problem, TransientError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_READ_ONLY = "phonesys_read_only"
_MIGRATION_LOCK_KEY = 0x70686F6E  # "phon": PostgreSQL advisory lock held while migrating
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def open_engine(url: str) -> Engine:
    """The process-wide engine for ``url``, with the schema upgraded to the latest migration."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Forget cached engines (tests and forked workers must not share pooled connections)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        # psycopg prepares a statement run 5 times, and PostgreSQL then plans it once for any
        # parameters: a 500-value IN list becomes a linear scan per row instead of a hash, 40x
        # slower on a chunk (benchmarks/assign_chunks.py). Batch statements plan in microseconds.
        return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=60000", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One atomic write: commits on success, rolls back on any error, maps hiccups to TransientError."""
    with _transient_errors_mapped():
        with engine.begin() as connection:
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent read snapshot that never blocks writers.

    SQLite in WAL mode snapshots at the first read of a deferred ``BEGIN``; PostgreSQL's default
    READ COMMITTED takes a new snapshot per statement, so reads ask for REPEATABLE READ (a read-only
    transaction at that level never fails to serialize).
    """
    with _transient_errors_mapped():
        with engine.connect() as connection:
            options: dict = {_READ_ONLY: True}
            if connection.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            connection = connection.execution_options(**options)
            with connection.begin():
                yield connection


@contextmanager
def _transient_errors_mapped() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(Problem("inventory-conflict", "The inventory changed while this request ran "
                               f"({_constraint_name(exc)}); nothing was changed, try again.")) from exc
    except DBAPIError as exc:
        if is_transient(exc):
            raise TransientError(f"inventory database temporarily unavailable: {exc.orig}") from exc
        raise


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) or str(exc.orig).splitlines()[0]


def is_transient(exc: DBAPIError) -> bool:
    """Busy/locked SQLite, lost connections, PostgreSQL deadlocks and serialization failures."""
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in {"40001", "40P01", "55P03", "57P01", "08000", "08003", "08006"}:
        return True
    message = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("locked" in message or "busy" in message
                                                  or "could not connect" in message
                                                  or "connection" in message and "closed" in message)


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, holding a lock so concurrent first uses migrate only once.

    Every process opens the engine once (a worker starts one per flow run), so the usual case, a
    schema already at head, is a plain read: the lock (a database-wide advisory lock on PostgreSQL,
    the write lock on SQLite) is taken only when there is something to migrate, and the revision is
    read again under it in case another process migrated meanwhile.
    """
    with read_transaction(engine) as connection:
        if MigrationContext.configure(connection).get_current_revision() == head_revision():
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config = _alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
