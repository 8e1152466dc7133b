"""Database access: URL resolution, engines (SQLite in WAL mode), migrations, sessions."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import (
    JSON,
    Engine,
    TypeDecorator,
    create_engine,
    event,
    func,
    inspect,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///jobs.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def migration_module(revision: str) -> ModuleType:
    """The migration `revision` ("0007") as a module: later migrations reuse an earlier
    one's builders (one definition of a listing table), the tests its statements. (Alembic's
    files are not importable by name: they start with digits.)"""
    path = next((MIGRATIONS / "versions").glob(f"{revision}_*.py"), None)
    if path is None:
        raise ImportError(f"no migration {revision} in {MIGRATIONS / 'versions'}")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load migration {revision} from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve_url(db: str | None = None) -> str:
    """The database URL: explicit `--db`, else HCJOBS_DATABASE_URL, else ./jobs.db.

    Plain `postgresql://` URLs are pointed at psycopg 3, the driver we ship.
    """
    url = db or os.environ.get("HCJOBS_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(db: str | None = None) -> Engine:
    """An engine for `db`; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    url = make_url(resolve_url(db))
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic: up from any older revision (creating the
    tables on first run), or down when `revision` is older than the store."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        current = MigrationContext.configure(conn).get_current_revision()
        older = {r.revision for r in script.iterate_revisions(current, "base")} if current \
            else set()
        target = script.get_current_head() if revision == "head" else revision
        if target != current and target in older:
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)


def open_store(db: str | None = None, *, upgrade: bool = True) -> Engine:
    """Engine for the store, migrated to the newest schema unless `upgrade` is false."""
    engine = make_engine(db)
    if upgrade:
        migrate(engine)
    return engine


def has_schema(engine: Engine) -> bool:
    """True when the store's tables exist (used by read-only commands to give a clear error)."""
    return inspect(engine).has_table("postings")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def utc_date(column: Any, dialect: str) -> Any:
    """SQL for the UTC calendar day of a timestamp column: SQLite keeps UTC text, from which
    date() takes the day; PostgreSQL must convert its timestamptz to UTC first."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (typed access to CursorResult.rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def upsert(
    session: Session,
    table: Any,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert `rows`, updating `update` columns where `conflict` columns already match.

    The one place where SQLite and PostgreSQL differ in how an upsert is spelled.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_fn(table).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict),
        set_={col: getattr(stmt.excluded, col) for col in update},
    )
    session.execute(stmt)


def bulk_insert(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the session's transaction, as fast as
    the database allows.

    PostgreSQL: COPY, which skips parsing one statement per row or one enormous multi-row
    statement (psycopg spends longer parsing a 200-row VALUES list than the server spends
    inserting it). SQLite: multi-row INSERT statements (see _sqlite_insert). Values go
    through the columns' own bind processing (UTC timestamps, JSON) either way.
    """
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])
    driver = connection.connection.driver_connection
    assert driver is not None
    values = ([row[c] for c in columns] for row in rows)
    if connection.dialect.name == "postgresql":
        _copy(driver, table, columns, values, connection.dialect)
    else:
        _sqlite_insert(driver, table, columns, values, connection.dialect)


def bulk_load(engine: Engine, table: Any, columns: Sequence[str],
              rows: Iterable[Sequence[Any]], chunk: int = 50_000) -> int:
    """Load many rows (tuples in `columns` order) into an idle store; returns how many.

    For building large stores (benchmarks, imports), not for live runs: PostgreSQL gets
    one COPY (and its id sequence moved past ids given explicitly); SQLite gets multi-row INSERTs
    in transactions of `chunk` rows with synchronous writes off (a crash mid-load loses the
    load, never the file's consistency).
    """
    raw = engine.raw_connection()
    count = 0
    try:
        if engine.dialect.name == "postgresql":
            driver = raw.driver_connection
            assert driver is not None

            def counted() -> Iterator[Sequence[Any]]:
                nonlocal count
                for row in rows:
                    count += 1
                    yield row

            _copy(driver, table, list(columns), counted(), engine.dialect)
            if "id" in columns:  # ids given explicitly: move the sequence past them
                with driver.cursor() as cursor:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                   f"'id'), GREATEST((SELECT max(id) FROM \"{table.name}\"), "
                                   f"1))")
            raw.commit()
            return count
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=OFF")  # the loader's rows refer to rows it loaded
        driver = raw.driver_connection
        pending: list[Sequence[Any]] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= chunk:
                count += _sqlite_insert(driver, table, columns, pending, engine.dialect)
                raw.commit()
                pending.clear()
        if pending:
            count += _sqlite_insert(driver, table, columns, pending, engine.dialect)
            raw.commit()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        return count
    finally:
        raw.close()


def _copy(driver: Any, table: Any, columns: list[str], rows: Iterable[Sequence[Any]],
          dialect: Any) -> None:
    """COPY `rows` into `table` through a psycopg connection."""
    convert = [(i, fn) for i, name in enumerate(columns)
               if (fn := _copy_converter(table.c[name].type, dialect)) is not None]
    names = ", ".join(f'"{name}"' for name in columns)
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') \
            as copy:
        for row in rows:
            copy.write_row(_converted(row, convert))


def _sqlite_insert(driver: Any, table: Any, columns: Sequence[str],
                   rows: Iterable[Sequence[Any]], dialect: Any) -> int:
    """Insert `rows` (values in `columns` order) with multi-row INSERT statements, in the
    connection's current transaction; returns how many.

    Not executemany: the FTS5 index's AFTER INSERT trigger makes every statement flush the
    index's pending terms (the trigger opens a statement savepoint), so one statement per
    row costs twice the insert itself; one statement per few hundred rows flushes once.
    """
    processors = [(i, fn) for i, name in enumerate(columns)
                  if (fn := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None]
    names = ", ".join(f'"{name}"' for name in columns)
    per_row = "(" + ", ".join("?" for _ in columns) + ")"
    # SQLite's limit on bound variables: 32766 since 3.32, 999 before
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    page = max(1, min(500, limit // max(1, len(columns))))
    statements: dict[int, str] = {}
    cursor = driver.cursor()
    count = 0
    batch: list[Any] = []

    def flush(n: int) -> None:
        sql = statements.get(n)
        if sql is None:
            sql = statements[n] = f'INSERT INTO "{table.name}" ({names}) VALUES ' + \
                ", ".join(per_row for _ in range(n))
        cursor.execute(sql, batch)
        batch.clear()

    pending = 0
    for row in rows:
        batch.extend(_converted(row, processors))
        pending += 1
        if pending == page:
            flush(pending)
            count, pending = count + pending, 0
    if pending:
        flush(pending)
        count += pending
    cursor.close()
    return count


def _converted(row: Sequence[Any], processors: list[tuple[int, Any]]) -> Sequence[Any]:
    """`row` with the values of the processed columns converted (None stays None)."""
    if not processors:
        return row
    out = list(row)
    for index, fn in processors:
        if out[index] is not None:
            out[index] = fn(out[index])
    return out


def _copy_converter(type_: Any, dialect: Any) -> Any:
    """How one column's Python value is handed to COPY: JSON as text, other values through
    the type's own bind processing (a TypeDecorator's process_bind_param included), plain
    values as they are (None)."""
    if isinstance(type_, JSON):
        return lambda value: json.dumps(value, ensure_ascii=False)
    if isinstance(type_, TypeDecorator):
        return lambda value: type_.process_bind_param(value, dialect)
    return None
