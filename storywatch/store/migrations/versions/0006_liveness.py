"""liveness: a backfill's window, --email, heartbeat and release; backfill_storylines; the
storyline lease; an index on articles.run_id

A backfill owns its window [window_start, window_end) for each storyline in
``backfill_storylines`` until it settles it there; live detection and live digests leave the
window alone meanwhile. ``heartbeat_at`` is beaten while it works and ``released_at`` set when
it ends: one that ended or went quiet without settling is finished by the next live run, as
the backfill would have (its ``email``).

A detection computes outside any database lock under the storyline's lease (``lease_owner``,
beaten in ``lease_beat``), so a long replay no longer holds SQLite's write lock.

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
        batch_op.add_column(sa.Column("window_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("window_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("email", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "backfill_storylines",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("storyline", sa.String(length=100), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "storyline"),
    )
    op.create_index("ix_articles_run", "articles", ["run_id"], unique=False)
    with op.batch_alter_table("storylines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("lease_beat", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("storylines", schema=None) as batch_op:
        batch_op.drop_column("lease_beat")
        batch_op.drop_column("lease_owner")
    op.drop_index("ix_articles_run", table_name="articles")
    op.drop_table("backfill_storylines")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("released_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("email")
        batch_op.drop_column("window_end")
        batch_op.drop_column("window_start")
