"""Opening the inventory database: one engine per URL, migrated to head on first use.

SQLite is tuned for several writer processes on one file: WAL, a busy timeout, foreign keys on,
and write transactions that start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing when a read lock cannot be upgraded. Read-only work uses a plain deferred ``BEGIN``.
PostgreSQL: writers lock the organization row they change; reads run at REPEATABLE READ.

How long a write waits for a lock another job holds is bounded on both (``SET LOCAL lock_timeout``,
SQLite's busy timeout): a command someone is waiting on uses an engine from ``interactive`` (a few
seconds, ``PHONESYS_LOCK_TIMEOUT``), background work such as bulk chunks the longer
``BACKGROUND_LOCK_WAIT`` and its task retries. Running out is ``Busy``, never a hang.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from phonesys.rules.errors import Busy, Conflict, TransientError
from phonesys.rules.refusals import inventory_conflict

if TYPE_CHECKING:  # alembic is imported only when there is something to migrate (or a command asks)
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_REVISION_LINE = re.compile(r"""^(down_revision|revision) = (None|"[0-9A-Za-z_]+")$""", re.MULTILINE)
_READ_ONLY = "phonesys_read_only"
LOCK_WAIT = "phonesys_lock_wait"  # execution option: seconds a write waits for another job's lock
BACKGROUND_LOCK_WAIT = 60.0  # flows and tasks: long enough for any chunk ahead of them, then retried
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


def interactive(engine: Engine, lock_wait: float) -> Engine:
    """``engine`` for a command someone waits on: its writes give up after ``lock_wait`` seconds
    behind another job's lock (``Busy``) instead of waiting as long as background work does."""
    return engine.execution_options(**{LOCK_WAIT: lock_wait})


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
        engine = create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})
        event.listen(engine, "begin", _postgresql_on_begin)
        return engine
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=60000", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    """The busy timeout is set per transaction: pooled connections serve commands and chunks alike."""
    options = connection.get_execution_options()
    wait_ms = int(1000 * options.get(LOCK_WAIT, BACKGROUND_LOCK_WAIT))
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {wait_ms}")
    connection.exec_driver_sql("BEGIN" if options.get(_READ_ONLY, False) else "BEGIN IMMEDIATE")


def _postgresql_on_begin(connection: Connection) -> None:
    """A write transaction's bound on lock waits; SET LOCAL ends with the transaction."""
    options = connection.get_execution_options()
    if LOCK_WAIT in options and not options.get(_READ_ONLY, False):
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(1000 * options[LOCK_WAIT])}ms'")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One atomic write: commits on success, rolls back on any error, maps hiccups to TransientError.

    The transaction begins with its first statement (usually ``lock_org``), so a lock wait that
    runs out is raised where the organization is known and ``Busy`` can name it.
    """
    with _transient_errors_mapped(engine):
        with engine.connect() as connection:
            connection.execution_options(**{LOCK_WAIT: lock_wait_of(engine)})
            try:
                yield connection
                connection.commit()
            except BaseException:
                _roll_back(connection)
                raise


def _roll_back(connection: Connection) -> None:
    """Roll back, also after a failed COMMIT: that leaves SQLAlchemy's transaction inactive but still
    attached, and closing the connection would then skip the pool's rollback of the DBAPI connection."""
    with suppress(DBAPIError):  # the error being raised says more; the pool resets or drops the connection
        connection.rollback()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent read snapshot that never blocks writers.

    SQLite in WAL mode snapshots at the first read of a deferred ``BEGIN``; PostgreSQL's default
    READ COMMITTED takes a new snapshot per statement, so reads ask for REPEATABLE READ (a read-only
    transaction at that level never fails to serialize).
    """
    with _transient_errors_mapped(engine):
        with engine.connect() as connection:
            options: dict[str, Any] = {_READ_ONLY: True}
            if connection.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            connection = connection.execution_options(**options)
            with connection.begin():
                yield connection


@contextmanager
def _transient_errors_mapped(engine: Engine) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(inventory_conflict(_constraint_name(exc))) from exc
    except DBAPIError as exc:
        if is_lock_wait(exc):
            raise Busy(None, lock_wait_of(engine), engine.dialect.name == "sqlite") from exc
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


def is_lock_wait(exc: DBAPIError) -> bool:
    """The statement gave up waiting for a lock another transaction holds: PostgreSQL's
    lock_timeout (SQLSTATE 55P03) or SQLite's busy timeout ("database is locked")."""
    if getattr(exc.orig, "sqlstate", None) == "55P03":
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes)
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig).lower()


def lock_wait_of(bind: Engine | Connection) -> float:
    """The seconds writes of this engine or connection wait for a lock (what ``Busy`` says it waited)."""
    return float(bind.get_execution_options().get(LOCK_WAIT, BACKGROUND_LOCK_WAIT))


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, holding a lock so concurrent first uses migrate only once.

    Every process opens the engine once (a worker starts one per flow run), so the usual case, a
    schema already at head, is a plain read that needs no alembic (importing it and its migration
    scripts was a fifth of a read command's time): the head comes from the scripts' revision lines
    (``scripted_head``) and the stored revision from ``alembic_version``. The lock (a database-wide
    advisory lock on PostgreSQL, the write lock on SQLite) is taken only when there is something to
    migrate, and the revision is read again under it in case another process migrated meanwhile.
    """
    head = scripted_head()
    if head is not None:
        with read_transaction(engine) as connection:
            if stored_revisions(connection) == {head}:
                return
    _upgrade_locked(engine)


def _upgrade_locked(engine: Engine) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config = _alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def stored_revisions(connection: Connection) -> set[str]:
    """The revisions ``alembic_version`` holds (none for a database alembic never touched)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def scripted_head() -> str | None:
    """The head revision, read from the ``revision = "..."`` and ``down_revision = ...`` lines of
    the migration scripts without importing them; None unless every script has exactly one of
    each and together they form one chain from the first to the head (then alembic decides)."""
    parent_of: dict[str, str] = {}
    scripts = [path for path in (MIGRATIONS_DIR / "versions").glob("*.py") if path.name != "__init__.py"]
    for script in scripts:
        found = _REVISION_LINE.findall(script.read_text(encoding="utf-8"))
        lines = {name: value.strip('"') for name, value in found}
        if len(found) != 2 or len(lines) != 2 or lines["revision"] in parent_of:
            return None
        parent_of[lines["revision"]] = lines["down_revision"]
    heads = set(parent_of) - set(parent_of.values())
    if len(heads) != 1:
        return None
    head = current = heads.pop()
    for _ in scripts:  # walk down: a chain reaches the first script after exactly one step per script
        current = parent_of.get(current, "")
    return head if current == "None" and len(parent_of) == len(scripts) else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
