"""The web's first-page indexes carry each posting's places.

Revision ID: 0006
Revises: 0005

A search by state (`state`, `open_to`) tests the posting's `state` and `locations`. Read
from the row, `locations` sits past the large description, on overflow pages (SQLite):
at 1,000,000 postings that reading was nine tenths of the typical search (category, remote,
credential and state). These indexes are 0005's with `state` and `locations` added (SQLite:
trailing key columns; PostgreSQL: INCLUDE, `json` has no btree ordering), so the state test
is answered from the index entry; they take the place (and names) of 0005's. The SQL
must stay identical to web.queries (WEB_INDEX_DDL, a test compares them).

PostgreSQL also gets `ix_tags_posting_listed`: a search walks the sort index and looks up
each posting's tag by posting_id; with category, remote and the tag's id in the entry that
look-up reads no table page (SQLite's ix_tags_facets already does, its entries carrying
the rowid). At 1M postings that halved the typical search again.

Nothing here alters `postings` (on SQLite that would recreate the table and drop the FTS5
triggers).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST = ("ix_postings_status_newest ON postings "
          "(status, (coalesce(posted_at, first_seen)), id, duplicate_of, posted_at, first_seen")
PAY = ("ix_postings_status_pay ON postings "
       "(status, (coalesce(salary_annual_max, salary_annual_min, -1.0)), id, duplicate_of, "
       "salary_annual_max, salary_annual_min")
INDEXES = {
    "sqlite": [f"CREATE INDEX IF NOT EXISTS {NEWEST}, state, locations)",
               f"CREATE INDEX IF NOT EXISTS {PAY}, state, locations)"],
    "postgresql": [f"CREATE INDEX IF NOT EXISTS {NEWEST}) INCLUDE (state, locations)",
                   f"CREATE INDEX IF NOT EXISTS {PAY}) INCLUDE (state, locations)"],
}
OLD = [f"CREATE INDEX IF NOT EXISTS {NEWEST})", f"CREATE INDEX IF NOT EXISTS {PAY})"]
NAMES = ("ix_postings_status_newest", "ix_postings_status_pay")
PG_TAGS = ("CREATE INDEX IF NOT EXISTS ix_tags_posting_listed ON tags (posting_id) "
           "INCLUDE (category, remote, id)")


def _replace(statements: list[str]) -> None:
    for name in NAMES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _replace(INDEXES[dialect])
    if dialect == "postgresql":
        op.execute(PG_TAGS)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_tags_posting_listed")
    _replace(OLD)
