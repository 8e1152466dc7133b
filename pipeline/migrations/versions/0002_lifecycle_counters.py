"""Lifecycle counters: missed runs per posting, closed and truncated per run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:12:12.579070
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("truncated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("missed_runs", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_column("missed_runs")

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("truncated")
        batch_op.drop_column("closed")
