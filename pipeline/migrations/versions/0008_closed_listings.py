"""closed_listings: the closed canonical postings, kept as open_listings keeps the open ones.

Revision ID: 0008
Revises: 0007

A search that includes closed postings, and the count of closed postings every browse
page shows next to "Include closed jobs", read postings and tags: at 1,000,000 postings
(two in three closed) such counts took 0.3 to 1.4 s, and all the counts of a search with
closed postings 26 s (past the web's 20 s timeout). closed_listings has open_listings'
columns, indexes and triggers (0007's builders, for status 'closed'); a search with
closed postings reads both tables, its pages merged from their sort indexes. Triggers,
not Python, keep it in step; a later batch_alter_table("postings") on SQLite drops them
(as 0007's).
"""

from collections.abc import Sequence

from alembic import op

from pipeline.db import migration_module

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTINGS, STATUS = "closed_listings", "closed"


def upgrade() -> None:
    migration_module("0007").create(op.get_bind().dialect.name, LISTINGS, STATUS)


def downgrade() -> None:
    migration_module("0007").drop(op.get_bind().dialect.name, LISTINGS)
