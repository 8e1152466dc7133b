"""Database access: URL resolution, engines (SQLite in WAL mode), migrations, sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///jobs.db"
MIGRATIONS = Path(__file__).with_name("migrations")


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
