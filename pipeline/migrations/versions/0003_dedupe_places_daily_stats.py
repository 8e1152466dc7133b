"""Places, yearly pay, near-duplicate fingerprints, daily stats.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 05:26:02.364050

Postings gain `city`, `locations` (every place as {city, state, country, remote}), the pay
per year (`salary_annual_min/max`, filled here from the stated pay for existing rows), and
the fingerprint near-duplicate detection compares (`simhash`, `title_key`, `location_key`,
`employer_key`) with its two indexed look-up keys (`block_key`, `text_key`), filled when a
posting is next seen. `daily_stats` holds one
row per day x category x remote x credential x requirement; covering indexes on postings,
tags and credentials let it be computed without reading the wide posting rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANNUAL = ("salary_annual_min/max = pay x 2,080 for hourly (40 h x 52 weeks), x 260 daily, x 52 "
          "weekly, x 12 monthly, x 1 yearly; empty for pay per chart and when no period is "
          "stated")
FACTOR = ("CASE salary_period WHEN 'hour' THEN 2080 WHEN 'day' THEN 260 WHEN 'week' THEN 52 "
          "WHEN 'month' THEN 12 WHEN 'year' THEN 1 END")


def upgrade() -> None:
    op.create_table(
        "daily_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("remote", sa.String(length=10), nullable=False),
        sa.Column("credential", sa.String(length=10), nullable=False),
        sa.Column("requirement", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        sa.Column("new", sa.Integer(), server_default="0", nullable=False),
        sa.Column("closed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "remote", "credential", "requirement"),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("city", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column(
            "locations", sa.JSON(), nullable=True,
            comment="every place named: [{city, state, country, remote}]"))
        batch_op.add_column(
            sa.Column("salary_annual_min", sa.Float(), nullable=True, comment=ANNUAL))
        batch_op.add_column(
            sa.Column("salary_annual_max", sa.Float(), nullable=True, comment=ANNUAL))
        batch_op.add_column(sa.Column("simhash", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("title_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("location_key", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("employer_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("block_key", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("text_key", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_postings_block_key"), ["block_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_postings_text_key"), ["text_key"], unique=False)
        batch_op.create_index(
            "ix_postings_lifespan", ["duplicate_of", "first_seen", "closed_at", "status"],
            unique=False)
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_facets", ["posting_id", "category", "remote"],
                              unique=False)
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_tag_code", ["tag_id", "code", "requirement"],
                              unique=False)
        batch_op.drop_index("ix_credentials_tag_id")

    op.execute(f"UPDATE postings SET salary_annual_min = salary_min * {FACTOR}, "
               f"salary_annual_max = salary_max * {FACTOR} WHERE salary_period IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_tag_id", ["tag_id"], unique=False)
        batch_op.drop_index("ix_credentials_tag_code")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_facets")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_lifespan")
        batch_op.drop_index(batch_op.f("ix_postings_text_key"))
        batch_op.drop_index(batch_op.f("ix_postings_block_key"))
        batch_op.drop_column("text_key")
        batch_op.drop_column("block_key")
        batch_op.drop_column("employer_key")
        batch_op.drop_column("location_key")
        batch_op.drop_column("title_key")
        batch_op.drop_column("simhash")
        batch_op.drop_column("salary_annual_max")
        batch_op.drop_column("salary_annual_min")
        batch_op.drop_column("locations")
        batch_op.drop_column("city")

    op.drop_table("daily_stats")
