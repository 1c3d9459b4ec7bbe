"""band periods: the LSH index partitioned by publication period, (bucket, band_key, article_id)

The period leads the primary key, so a clustering batch reads and writes only the recent part
of the index (storywatch/dedupe/minhash.py, "The time window"). The stored band rows are copied with
each article's period: whole 7-day periods (dedupe.BUCKET_DAYS at this revision) since
1970-01-01 UTC of its published_at, on whole seconds, which is dedupe.time_bucket. A later
change of the period is ``ClusterTransaction.rebuild_index``'s job, not a migration's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PERIOD_SECONDS = 7 * 86400


def _seconds(dialect: str) -> str:
    """Whole seconds since 1970-01-01 UTC of ``a.published_at`` (floor, as Python's)."""
    if dialect == "postgresql":
        return "CAST(floor(extract(epoch FROM a.published_at)) AS BIGINT)"
    # stored as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff': the fraction cut off first, as
    # SQLite would round it to milliseconds (23:59:59.9999995 into the next day)
    return "CAST(strftime('%s', substr(a.published_at, 1, 19)) AS INTEGER)"


def _rename_old(dialect: str) -> None:
    op.rename_table("lsh_bands", "lsh_bands_old")
    if dialect == "postgresql":  # the primary key's index keeps its name across a rename
        op.execute(
            "ALTER TABLE lsh_bands_old RENAME CONSTRAINT lsh_bands_pkey TO lsh_bands_old_pkey"
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _rename_old(dialect)
    op.create_table(
        "lsh_bands",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "band_key", "article_id"),
        sqlite_with_rowid=False,
    )
    # floor division on integers in both dialects: (s - s mod p) / p with a non-negative mod
    op.execute(
        f"""
        INSERT INTO lsh_bands (bucket, band_key, article_id)
        SELECT (s - ((s % {PERIOD_SECONDS}) + {PERIOD_SECONDS}) % {PERIOD_SECONDS})
                   / {PERIOD_SECONDS},
               band_key, article_id
        FROM (
            SELECT {_seconds(dialect)} AS s, b.band_key AS band_key, b.article_id AS article_id
            FROM lsh_bands_old b JOIN articles a ON a.id = b.article_id
        ) AS periods
        ORDER BY 1, 2, 3
        """
    )
    op.drop_table("lsh_bands_old")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _rename_old(dialect)
    op.create_table(
        "lsh_bands",
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO lsh_bands (band_key, article_id) "
        "SELECT DISTINCT band_key, article_id FROM lsh_bands_old ORDER BY 1, 2"
    )
    op.drop_table("lsh_bands_old")
