"""PostgreSQL: each posting's tsvector stored once, in a generated column with a GIN index.

Revision ID: 0010
Revises: 0009

Since 0004 PostgreSQL indexed the tsvector expression only. A search of common words
walks the newest listings and tests each candidate, and without a stored vector each test
parsed the posting's whole text again (0.22 ms each: "risk adjustment" tested 297
candidates, 64 ms at 1M postings). The generated column is computed when title, company
or text change (as the expression index was), and web.search tests it instead: that
search 64 -> 4-5 ms, no change in ingest speed (bench/ingest.py), 1.4 KB more per posting.
Adding the column rewrites postings and rebuilds its indexes, the table locked meanwhile:
minutes at 1M postings (8.4 with the expression index rebuilt too, which is why it is
dropped first). SQLite keeps its FTS5 table: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TSVECTOR = ("to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || "
            "coalesce(company, '') || ' ' || coalesce(text, ''))")
UP = [
    # first: adding the column rewrites the table and rebuilds its indexes, this one too
    "DROP INDEX IF EXISTS ix_postings_fts",
    f"ALTER TABLE postings ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({TSVECTOR}) STORED",
    "CREATE INDEX IF NOT EXISTS ix_postings_search_vector ON postings USING gin "
    "(search_vector)",
]
DOWN = [
    f"CREATE INDEX IF NOT EXISTS ix_postings_fts ON postings USING gin ({TSVECTOR})",
    "ALTER TABLE postings DROP COLUMN IF EXISTS search_vector",  # (drops its index)
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in UP:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in DOWN:
            op.execute(sql)
