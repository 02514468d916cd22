"""MOS studies (``protocol: musiceval``) join the Alembic schema.

Until now a MOS study's ``mos.db`` was made with ``create_all`` and had no Alembic
history. This revision creates the ``mos_*`` tables where they are missing (every
AImoclips database, and new ones), keeps them where they exist (a ``mos.db`` made by
the earlier code: revisions 0001-0004 then add the AImoclips tables beside them, empty),
and adds the indexes the database-held batch assignment reads on every request.

Revision ID: 0005
Revises: 0004
Create Date: 2025-04-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _create_missing(have: set[str]) -> None:
    if "mos_study" not in have:
        op.create_table("mos_study", sa.Column("key", sa.String(64), primary_key=True),
                        sa.Column("value", sa.Text()))
    if "mos_clips" not in have:
        op.create_table("mos_clips", sa.Column("clip_id", sa.String(255), primary_key=True),
                        sa.Column("system", sa.String(255)),
                        sa.Column("prompt_id", sa.String(255)), sa.Column("path", sa.Text()),
                        sa.Column("role", sa.String(16)))
    if "mos_prompts" not in have:
        op.create_table("mos_prompts",
                        sa.Column("prompt_id", sa.String(255), primary_key=True),
                        sa.Column("text", sa.Text()),
                        sa.Column("source", sa.String(255), nullable=True))
    if "mos_raters" not in have:
        op.create_table("mos_raters", sa.Column("token", sa.String(64), primary_key=True),
                        sa.Column("name", sa.String(128), unique=True),
                        sa.Column("csrf", sa.String(64)), sa.Column("stage", sa.String(16)),
                        sa.Column("created_at", sa.Float()),
                        sa.Column("last_seen", sa.Float()))
    if "mos_batches" not in have:
        op.create_table("mos_batches", sa.Column("batch_id", sa.Integer(), primary_key=True),
                        sa.Column("rater", sa.String(128)), sa.Column("items_json", sa.Text()),
                        sa.Column("open", sa.Boolean()),
                        sa.Column("reached", sa.Integer(), nullable=True),
                        sa.Column("created_at", sa.Float()))
    if "mos_answers" not in have:
        op.create_table("mos_answers", sa.Column("batch_id", sa.Integer(), primary_key=True),
                        sa.Column("position", sa.Integer(), primary_key=True),
                        sa.Column("rater", sa.String(128)), sa.Column("clip_id", sa.String(255)),
                        sa.Column("role", sa.String(16)), sa.Column("MI", sa.Integer()),
                        sa.Column("TA", sa.Integer()), sa.Column("created_at", sa.Float()))


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    _create_missing(have)
    op.create_index("ix_mos_batches_rater_open", "mos_batches", ["rater", "open"])
    op.create_index("ix_mos_answers_clip", "mos_answers", ["clip_id"])


def downgrade() -> None:
    op.drop_index("ix_mos_answers_clip", "mos_answers")
    op.drop_index("ix_mos_batches_rater_open", "mos_batches")
    for table in ("mos_answers", "mos_batches", "mos_raters", "mos_prompts", "mos_clips",
                  "mos_study"):
        op.drop_table(table)
