"""Stored facets, and indexes for the job seekers' first pages.

Revision ID: 0005
Revises: 0004

`facet_tags` holds the facets the tagger finds (one row per tag x facet, with its evidence
sentence), so the web filters and counts facets on an index instead of running the
classifier's patterns over every posting's text. Tags that exist already get their rows
here: facets are a pure function of title, text and category (classifier.facets), so the
backfill writes what the tagger would have written.

The two indexes serve the web's first pages (their expressions must stay identical to
web.queries, which keeps the same SQL in WEB_INDEX_DDL): open postings newest or best paid
first, status leading so a page is read from the open ones alone, with the duplicate check
in the index entry. Nothing here alters `postings` (on SQLite that would recreate the
table and drop the FTS5 triggers of 0004).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
# the categories classifier.facets has facets for (others never get any)
FACET_CATEGORIES = ("coding", "administration")
INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_postings_status_newest ON postings "
    "(status, (coalesce(posted_at, first_seen)), id, duplicate_of, posted_at, first_seen)",
    "CREATE INDEX IF NOT EXISTS ix_postings_status_pay ON postings "
    "(status, (coalesce(salary_annual_max, salary_annual_min, -1.0)), id, duplicate_of, "
    "salary_annual_max, salary_annual_min)",
]
INDEX_NAMES = ("ix_postings_status_pay", "ix_postings_status_newest")


def upgrade() -> None:
    op.create_table(
        "facet_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag_id", "facet", name="uq_facet_tags_tag_facet"),
    )
    op.create_index("ix_facet_tags_facet_tag", "facet_tags", ["facet", "tag_id"])
    _backfill()
    for sql in INDEXES:
        op.execute(sql)


def _backfill() -> None:
    """Facet rows for the tags stored before this revision, a batch of tags at a time."""
    from classifier.facets import extract_facets

    bind = op.get_bind()
    tags = sa.table("tags", sa.column("id", sa.Integer), sa.column("posting_id", sa.Integer),
                    sa.column("category", sa.String))
    postings = sa.table("postings", sa.column("id", sa.Integer),
                        sa.column("title", sa.Text), sa.column("text", sa.Text))
    facet_tags = sa.table("facet_tags", sa.column("tag_id", sa.Integer),
                          sa.column("facet", sa.String), sa.column("evidence", sa.Text))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(tags.c.id, tags.c.category, postings.c.title, postings.c.text)
            .join(postings, postings.c.id == tags.c.posting_id)
            .where(tags.c.id > last, tags.c.category.in_(FACET_CATEGORIES))
            .order_by(tags.c.id).limit(BATCH)).all()
        if not rows:
            return
        found = [{"tag_id": tag_id, "facet": name, "evidence": evidence}
                 for tag_id, category, title, text in rows
                 for name, evidence in extract_facets(text or "", title or "",
                                                      category).facets.items()]
        if found:
            bind.execute(facet_tags.insert(), found)
        last = rows[-1][0]


def downgrade() -> None:
    for name in INDEX_NAMES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_facet_tags_facet_tag", table_name="facet_tags")
    op.drop_table("facet_tags")
