"""storyline: assessments, developments, development_articles, memory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:17:51.836305
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "developments",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("storyline", sa.String(length=100), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("novelty", sa.String(length=10), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("updates", sa.String(length=200), nullable=True),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("developments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_developments_storyline_first_seen", ["storyline", "first_seen"], unique=False
        )

    op.create_table(
        "storylines",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("seed_date", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "storyline_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storyline", sa.String(length=100), nullable=False),
        sa.Column("development_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["storyline"], ["storylines.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storyline", "development_id", name="uq_memory_storyline_development"),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("storyline", sa.String(length=100), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("novelty", sa.String(length=10), nullable=False),
        sa.Column("development_id", sa.String(length=200), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "storyline", name="uq_assessments_article_storyline"),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index("ix_assessments_storyline", ["storyline"], unique=False)

    op.create_table(
        "development_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("development_id", sa.String(length=200), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["development_id"], ["developments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("development_id", "article_id", name="uq_development_articles_pair"),
    )
    with op.batch_alter_table("development_articles", schema=None) as batch_op:
        batch_op.create_index("ix_development_articles_article", ["article_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("development_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_development_articles_article")

    op.drop_table("development_articles")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_assessments_storyline")

    op.drop_table("assessments")
    op.drop_table("storyline_memory")
    op.drop_table("storylines")
    with op.batch_alter_table("developments", schema=None) as batch_op:
        batch_op.drop_index("ix_developments_storyline_first_seen")

    op.drop_table("developments")
