"""liveness: runs.heartbeat_at, released_at, email; storylines.lease_owner, lease_beat; an index

The index on articles.run_id finds a backfill's articles without reading every article.

A running backfill keeps its articles from live detection (it judges them as of their time
itself). ``heartbeat_at`` is refreshed while it works and ``released_at`` set when it ends, so
a backfill that died lets go within ``store.BACKFILL_QUIET``; ``email`` is its --email, so the
live run that finishes a stopped backfill settles the window as the backfill would have.

A detection computes outside any database lock under the storyline's lease (``lease_owner``,
refreshed in ``lease_beat``), so a long replay no longer holds SQLite's write lock.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("email", sa.Boolean(), nullable=True))
    op.create_index("ix_articles_run", "articles", ["run_id"], unique=False)
    with op.batch_alter_table("storylines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("lease_beat", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_index("ix_articles_run", table_name="articles")
    with op.batch_alter_table("storylines", schema=None) as batch_op:
        batch_op.drop_column("lease_beat")
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("released_at")
        batch_op.drop_column("heartbeat_at")
