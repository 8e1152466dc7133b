"""The web process's read-only view of the store.

The web process never writes: SQLite is opened through a `mode=ro` URI (plus `query_only`),
PostgreSQL sessions start with `default_transaction_read_only = on`. A bug or an injection
that slipped through therefore cannot change the store. What the schema offers (a full-text
index, daily stats) is looked up once so each request picks its query without asking.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from pipeline.db import resolve_url
from web.search import PG_VECTOR

# a request that runs longer than this is cut off (PostgreSQL statement_timeout; SQLite
# progress handler): one expensive filter combination must not hold a worker for minutes
QUERY_TIMEOUT_S = 20.0
SQLITE_FTS_TABLE = "postings_fts"
FACET_TABLE = "facet_tags"
LISTINGS_TABLE, CLOSED_LISTINGS_TABLE = "open_listings", "closed_listings"
# SQLite: read-only connections can afford to keep more of the store at hand: memory-map
# it (reads then copy no pages; SQLite caps the map at its compile-time limit, 2 GB on
# Debian's build), a larger page cache for what the map does not cover, and temporary sort
# b-trees in memory. About twice as fast on the index probes a search makes, where the map
# covers them.
SQLITE_READ_PRAGMAS = ("PRAGMA mmap_size = 8589934592", "PRAGMA cache_size = -32768",
                       "PRAGMA temp_store = MEMORY")
# PostgreSQL: no JIT (compiling a plan costs more than these short queries run), and
# enough memory that the bitmap of a common word's full-text matches stays exact: at the
# default 4 MB it turns lossy and every posting on a lossy page has its tsvector computed
# again (seconds at 1M postings). No parallel workers: a first page stops after a few
# rows, but each worker walks its own share of the sort index regardless (the typical
# search read 200,000 index entries in three processes for 21 rows, 0.4 s, where one
# process reads 9,000), and many clients at once keep every core busy anyway.
PG_READ_SETTINGS = "-c jit=off -c work_mem=32MB -c max_parallel_workers_per_gather=0"


class StoreUnavailable(RuntimeError):
    """The store is missing or has no schema yet (nothing crawled)."""


def _sqlite_file(url: URL) -> tuple[Path, list[str]]:
    """The database file of a SQLite URL and the URI options it already carries."""
    database = url.database or ""
    if not database or database == ":memory:":
        raise StoreUnavailable("an in-memory SQLite store has nothing to serve")
    if database.startswith("file:"):  # already a URI: keep its options, force read-only
        path, _, query = database[5:].partition("?")
        options = [o for o in query.split("&") if o and not o.startswith("mode=")]
        return Path(unquote(path)).resolve(), options
    return Path(database).resolve(), []


def readonly_url(db: str | None) -> URL:
    """The URL the web process connects with: the store's URL, made read-only for SQLite."""
    url = make_url(resolve_url(db))
    if url.get_backend_name() != "sqlite":
        return url
    path, options = _sqlite_file(url)
    return url.set(drivername="sqlite+pysqlite",
                   database="file:" + quote(str(path)) + "?" + "&".join([*options, "mode=ro"]),
                   query={"uri": "true"})


def _sqlite_readonly(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only = ON")  # a second lock on top of mode=ro
    cur.execute("PRAGMA busy_timeout = 5000")
    for pragma in SQLITE_READ_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _sqlite_deadline(dbapi_conn: Any) -> None:
    """Abort a statement that runs past QUERY_TIMEOUT_S (SQLite has no statement timeout)."""
    deadline = time.monotonic() + QUERY_TIMEOUT_S
    dbapi_conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 100_000)


def readonly_engine(db: str | None = None, connections: int = 8) -> Engine:
    """An engine that can only read the store `db` (same URL rules as the pipeline), with
    `connections` pooled (and as many again when busy): one per request thread and
    background count, so none waits for another's."""
    url = readonly_url(db)
    if url.get_backend_name() == "sqlite":
        path, _ = _sqlite_file(url)
        if not path.exists():
            raise StoreUnavailable(f"no store at {path}: run `hcjobs demo` or `hcjobs crawl`")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5},
                               pool_size=connections, max_overflow=connections)
        event.listen(engine, "connect", _sqlite_readonly)
        return engine
    options = ("-c default_transaction_read_only=on "
               f"-c statement_timeout={int(QUERY_TIMEOUT_S * 1000)} {PG_READ_SETTINGS}")
    return create_engine(url, pool_pre_ping=True, pool_size=connections,
                         max_overflow=connections,
                         connect_args={"options": options})


class DataVersion:
    """SQLite's `PRAGMA data_version` on a connection of its own: it changes whenever
    another connection commits (the pipeline; this process only reads). One connection
    because the value means something only compared with the same connection's last."""

    def __init__(self, uri: str) -> None:
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


# PostgreSQL: two equal snapshots see exactly the same committed rows
PG_VERSION = "SELECT pg_current_snapshot()::text"


@dataclass(frozen=True)
class Store:
    """A read-only engine and what its schema offers."""

    engine: Engine
    dialect: str
    fts: bool
    """SQLite: the FTS5 table `postings_fts` exists (else search falls back to LIKE).
    PostgreSQL: postings store their tsvector (migration 0010; else computed per row)."""
    daily_stats_table: bool
    """The daily_stats table exists (whether it has rows is asked per request)."""
    facet_table: bool = True
    """The store keeps the tagger's facets (migration 0005); older stores are served
    without facet filters and counts."""
    places_indexed: bool = False
    """The first-page indexes carry the postings' places (migration 0006)."""
    listings: bool = False
    """The open_listings table exists (migration 0007): first pages are picked there."""
    closed_listings: bool = False
    """The closed_listings table exists (migration 0008)."""
    data_version: DataVersion | None = None
    """SQLite: what `version` reads."""

    def version(self) -> Hashable:
        """A token that changes whenever the store's visible contents may have: a commit
        anywhere (SQLite: data_version; PostgreSQL: the current snapshot). Cheap: a few
        microseconds on SQLite, one round trip on PostgreSQL."""
        if self.data_version is not None:
            return self.data_version()
        with self.engine.connect() as conn:
            return conn.execute(text(PG_VERSION)).scalar()

    def close(self) -> None:
        self.engine.dispose()
        if self.data_version is not None:
            self.data_version.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection for one request; it only reads, so it never commits. (What
        the busiest route uses: a Session around it costs a tenth of a listing's time.)"""
        with self.engine.connect() as conn:
            dbapi = None
            if self.dialect == "sqlite":
                dbapi = conn.connection.dbapi_connection
                _sqlite_deadline(dbapi)
            try:
                yield conn
            finally:
                if dbapi is not None:
                    dbapi.set_progress_handler(None, 0)
                conn.rollback()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one request, over connection()."""
        with self.connection() as conn, Session(conn) as session:
            yield session


def open_readonly(db: str | None = None, connections: int = 8) -> Store:
    """Connect read-only and look up what the schema offers; StoreUnavailable when the store
    has no tables yet."""
    engine = readonly_engine(db, connections)
    try:
        names = set(inspect(engine).get_table_names())
    except Exception as exc:  # unreadable file, refused connection
        engine.dispose()
        raise StoreUnavailable(f"cannot read the store: {exc.__class__.__name__}") from exc
    if "postings" not in names or "tags" not in names:
        engine.dispose()
        raise StoreUnavailable("the store has no postings yet: run `hcjobs demo` or "
                               "`hcjobs crawl` first")
    return Store(engine=engine, dialect=engine.dialect.name,
                 fts=SQLITE_FTS_TABLE in names if engine.dialect.name == "sqlite"
                 else _stores_vector(engine),
                 daily_stats_table="daily_stats" in names, facet_table=FACET_TABLE in names,
                 places_indexed=_places_indexed(engine), listings=LISTINGS_TABLE in names,
                 closed_listings=CLOSED_LISTINGS_TABLE in names,
                 data_version=DataVersion(str(engine.url.database))
                 if engine.dialect.name == "sqlite" else None)


def _stores_vector(engine: Engine) -> bool:
    """PostgreSQL: postings carry the generated tsvector column (migration 0010)."""
    return any(c["name"] == PG_VECTOR for c in inspect(engine).get_columns("postings"))


def _places_indexed(engine: Engine) -> bool:
    """The newest-first index carries `locations` (migration 0006): its definition says."""
    if engine.dialect.name == "postgresql":
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_postings_status_newest'"
    else:
        query = "SELECT sql FROM sqlite_master WHERE name = 'ix_postings_status_newest'"
    with engine.connect() as conn:
        ddl = conn.exec_driver_sql(query).scalar()
    return "locations" in str(ddl or "")
