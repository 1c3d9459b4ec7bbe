"""backfill_storylines.asked: the storylines a backfill was not run for

A backfill with --storyline stores articles that every storyline reads. The other storylines
get a row with ``asked`` false: their live runs leave the window alone while the backfill
works, then the first one after it judges the window as of the time and records it without
mailing, instead of judging weeks-old articles as today's news.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backfill_storylines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("asked", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("backfill_storylines", schema=None) as batch_op:
        batch_op.drop_column("asked")
