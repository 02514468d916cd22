"""Participants' presentation plan (just-in-time assignment) and indexes for clip loads.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("participants", sa.Column("plan_json", sa.Text(), nullable=True))
    # clip loads are computed on every assignment: keep both halves index-only
    op.create_index("ix_ratings_role_clip", "ratings", ["role", "clip_id"])
    op.create_index("ix_participants_stage_seen", "participants", ["stage", "last_seen"])


def downgrade() -> None:
    op.drop_index("ix_participants_stage_seen", "participants")
    op.drop_index("ix_ratings_role_clip", "ratings")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("plan_json")
