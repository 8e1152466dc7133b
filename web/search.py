"""Full-text search over title, company and text: one function, three ways to run it.

- SQLite with the FTS5 table `postings_fts` (see SQLITE_FTS_DDL): MATCH on the index.
- PostgreSQL: `search_vector @@ websearch_to_tsquery(...)`, the tsvector stored in a
  generated column with a GIN index (PG_FTS_DDL, migration 0010). A store from before has
  none: `to_tsvector(...)` is computed per row (correct, slower; 0004's expression index,
  if there, serves it: the expression here must stay identical to the indexed one).
- SQLite without the FTS table: every word must appear (LIKE, parameterized and escaped).

The DDL lives here so that the Alembic migration and the tests use the very same SQL.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import Engine

from pipeline.models import Posting

MAX_TERMS = 12
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what every tokenizer calls a word

SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS postings_fts USING fts5("
    "title, company, text, content='postings', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_ai AFTER INSERT ON postings BEGIN "
    "INSERT INTO postings_fts(rowid, title, company, text) "
    "VALUES (new.id, new.title, new.company, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_ad AFTER DELETE ON postings BEGIN "
    "INSERT INTO postings_fts(postings_fts, rowid, title, company, text) "
    "VALUES ('delete', old.id, old.title, old.company, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_au AFTER UPDATE OF title, company, text "
    "ON postings BEGIN "
    "INSERT INTO postings_fts(postings_fts, rowid, title, company, text) "
    "VALUES ('delete', old.id, old.title, old.company, old.text); "
    "INSERT INTO postings_fts(rowid, title, company, text) "
    "VALUES (new.id, new.title, new.company, new.text); END",
    "INSERT INTO postings_fts(postings_fts) VALUES ('rebuild')",
)
SQLITE_FTS_DROP = (
    "DROP TRIGGER IF EXISTS postings_fts_au",
    "DROP TRIGGER IF EXISTS postings_fts_ad",
    "DROP TRIGGER IF EXISTS postings_fts_ai",
    "DROP TABLE IF EXISTS postings_fts",
)
PG_TSVECTOR = ("to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || "
               "coalesce(company, '') || ' ' || coalesce(text, ''))")
PG_VECTOR = "search_vector"
PG_FTS_DDL = (f"ALTER TABLE postings ADD COLUMN IF NOT EXISTS {PG_VECTOR} tsvector "
              f"GENERATED ALWAYS AS ({PG_TSVECTOR}) STORED",
              f"CREATE INDEX IF NOT EXISTS ix_postings_{PG_VECTOR} ON postings USING gin "
              f"({PG_VECTOR})")
PG_FTS_DROP = (f"ALTER TABLE postings DROP COLUMN IF EXISTS {PG_VECTOR}",
               "DROP INDEX IF EXISTS ix_postings_fts")


MERGE_PAGES = 4000
"""Pages (4 KB) of FTS5 index rewritten at most by one merge_search_index() call."""


def merge_search_index(engine: Engine, pages: int | None = MERGE_PAGES) -> tuple[int, int]:
    """Merge the SQLite FTS5 index's segments: those of one level together, any two of them,
    at most `pages` pages of work (after each crawl: cheap, the big segment stays as it is
    while the small ones each commit adds end up in a few); None: all into one, a rewrite of
    the whole index (FTS5's 'optimize', after a bulk load). (segments before, after);
    (0, 0) on PostgreSQL or without the FTS5 table.

    A search testing postings one by one against its words (fts_probe) seeks every segment
    each time: at 1M postings a bulk load left 12 segments and a probe of two words took
    75 us; with one, 15 us. FTS5's own merging waits for four segments on a level.
    ('usermerge' 2 stays in the index's settings: it governs only the 'merge' command.)"""
    if engine.dialect.name != "sqlite":
        return 0, 0
    segments = text("SELECT count(DISTINCT segid) FROM postings_fts_idx")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'postings_fts'")
                            ).first():
            return 0, 0
        present = int(conn.execute(segments).scalar() or 0)
        if present <= 1:
            return present, present  # nothing to merge: no write lock taken
    with engine.begin() as conn:
        # a write first, so the transaction holds the write lock before it reads: the count
        # and the merge see the same index whatever a concurrent crawl commits (a read first
        # could not be upgraded to a write after such a commit: SQLITE_BUSY_SNAPSHOT)
        conn.execute(text("INSERT INTO postings_fts(postings_fts, rank) "
                          "VALUES ('usermerge', 2)"))
        before = int(conn.execute(segments).scalar() or 0)
        if before > 1 and pages is None:
            conn.execute(text("INSERT INTO postings_fts(postings_fts) VALUES ('optimize')"))
        elif before > 1 and pages is not None:
            conn.execute(text("INSERT INTO postings_fts(postings_fts, rank) VALUES "
                              "('merge', :pages)").bindparams(pages=abs(pages)))
        after = int(conn.execute(segments).scalar() or 0)
    return before, after


def terms(q: str) -> list[str]:
    """The words of a query (punctuation and FTS operators dropped), at most MAX_TERMS."""
    return _WORD.findall(q)[:MAX_TERMS]


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_match(words: list[str]) -> str:
    """An FTS5 query asking for every word; each quoted, so MATCH syntax stays literal."""
    return " ".join(f'"{w}"' for w in words)


def fts_hits(q: str, limit: int | None = None) -> Subquery | None:
    """SQLite FTS5: the ids (column `id`) of the postings matching every word of `q`, the
    newest (highest ids) first when `limit`: the newest `limit` of them; None when `q` has
    no word to look for. (FTS5 reads its lists in either order: no sort.)"""
    words = terms(q)
    if not words:
        return None
    hits: Select[Any] = (
        select(literal_column("rowid").label("id")).select_from(text("postings_fts"))
        .where(literal_column("postings_fts").op("MATCH")(_fts_match(words))))
    if limit is not None:
        hits = hits.order_by(literal_column("rowid").desc()).limit(limit)
    return hits.subquery("fts_hits")


def fts_probe(q: str, posting_id: Any) -> ColumnElement[bool] | None:
    """SQLite FTS5: whether the posting `posting_id` (a column of the enclosing query) matches
    every word of `q`, looked up for that posting alone (FTS5 seeks each word's list to its
    id). Costs tens of microseconds a posting, where testing against the matches kept in
    memory costs collecting them all first: for words most postings hold, testing the few
    postings a page needs is far cheaper (see queries.PROBE_CANDIDATES)."""
    words = terms(q)
    if not words:
        return None
    fts = table("postings_fts", column("rowid"))  # (a FROM that correlation understands)
    return exists(select(literal_column("1")).select_from(fts).where(
        literal_column("postings_fts").op("MATCH")(_fts_match(words)),
        fts.c.rowid == posting_id))


def search_condition(q: str, dialect: str, fts: bool, walk: bool = False,
                     posting_id: Any = Posting.id) -> ColumnElement[bool] | None:
    """Postings matching every word of `q`; None when `q` has no word to look for.

    `fts` says the SQLite FTS5 table, or PostgreSQL's stored tsvector (PG_VECTOR), exists.
    User text only ever reaches the database as a
    bound parameter; for FTS5 each word is quoted, so MATCH syntax in `q` stays literal.
    `walk` (FTS5, words matching many postings): spell the test `id + 0 IN (matches)`, so
    SQLite keeps walking the sort index and tests each posting against the matches (kept
    in memory) rather than fetching and sorting every match. `posting_id`: the column the
    FTS5 matches are tested on (PostgreSQL and LIKE read the posting's own columns).
    """
    words = terms(q)
    if not words:
        return None
    if dialect == "postgresql":
        vector: ColumnElement[Any] = literal_column(
            f"postings.{PG_VECTOR}" if fts else PG_TSVECTOR)
        return vector.op("@@")(func.websearch_to_tsquery(literal_column("'english'::regconfig"),
                                                         " ".join(words)))
    if dialect == "sqlite" and fts:
        hits: Select[Any] = select(literal_column("rowid")).select_from(text("postings_fts")).where(
            literal_column("postings_fts").op("MATCH")(_fts_match(words)))
        return (posting_id + 0).in_(hits) if walk else posting_id.in_(hits)
    return and_(*(or_(*(column.ilike(f"%{_escape_like(w)}%", escape="\\")
                        for column in (Posting.title, Posting.company, Posting.text)))
                  for w in words))
