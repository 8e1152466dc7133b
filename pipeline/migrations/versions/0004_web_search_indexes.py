"""Web: full-text search and the indexes of the job seekers' searches.

Revision ID: 0004
Revises: 0003

SQLite gets an FTS5 table kept in step by triggers; PostgreSQL a GIN index over the same
tsvector expression web.search uses. The sort indexes' expressions must stay identical to
web.queries. A later batch_alter_table("postings") on SQLite recreates the table and drops
the triggers: such a migration must run FTS_SQLITE again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS postings_fts USING fts5(title, company, text, "
    "content='postings', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_ai AFTER INSERT ON postings BEGIN "
    "INSERT INTO postings_fts(rowid, title, company, text) "
    "VALUES (new.id, new.title, new.company, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_ad AFTER DELETE ON postings BEGIN "
    "INSERT INTO postings_fts(postings_fts, rowid, title, company, text) "
    "VALUES ('delete', old.id, old.title, old.company, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS postings_fts_au AFTER UPDATE OF title, company, text "
    "ON postings BEGIN INSERT INTO postings_fts(postings_fts, rowid, title, company, text) "
    "VALUES ('delete', old.id, old.title, old.company, old.text); "
    "INSERT INTO postings_fts(rowid, title, company, text) "
    "VALUES (new.id, new.title, new.company, new.text); END",
    "INSERT INTO postings_fts(postings_fts) VALUES ('rebuild')",
]
FTS_PG = [
    "CREATE INDEX IF NOT EXISTS ix_postings_fts ON postings USING gin "
    "(to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || "
    "coalesce(company, '') || ' ' || coalesce(text, '')))"
]
SORT = [
    "CREATE INDEX IF NOT EXISTS ix_postings_newest ON postings "
    "((coalesce(posted_at, first_seen)), id, status, duplicate_of)",
    "CREATE INDEX IF NOT EXISTS ix_postings_pay ON postings "
    "((coalesce(salary_annual_max, salary_annual_min, -1.0)), id, status, duplicate_of)",
    "CREATE INDEX IF NOT EXISTS ix_postings_employer ON postings ((lower(company)))",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for sql in (FTS_PG if postgres else FTS_SQLITE) + SORT:
        op.execute(sql)


def downgrade() -> None:
    for name in ("ix_postings_employer", "ix_postings_pay", "ix_postings_newest"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_postings_fts")
    else:
        for trigger in ("postings_fts_au", "postings_fts_ad", "postings_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS postings_fts")
