"""Initial survey schema: study, clips, participants, assignments, ratings, contacts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("intents_json", sa.Text(), nullable=False),
        sa.Column("clips_root", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("intent", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("platform_pid", sa.String(128), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("gender", sa.String(64), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("fluency", sa.Boolean(), nullable=True),
    )
    op.create_index("ix_participants_platform_pid", "participants", ["platform_pid"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"),
                  nullable=False),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.UniqueConstraint("participant_id", "position", name="uq_assignment_position"),
        sa.UniqueConstraint("participant_id", "clip_id", "role", name="uq_assignment_clip"),
    )
    op.create_index("ix_assignments_participant_id", "assignments", ["participant_id"])
    op.create_index("ix_assignments_clip_id", "assignments", ["clip_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"),
                  nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"),
                  nullable=False, unique=True),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("valence", sa.Integer(), nullable=False),
        sa.Column("arousal", sa.Integer(), nullable=False),
        sa.Column("extra_json", sa.Text(), nullable=False),
        sa.Column("played_full", sa.Boolean(), nullable=False),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("participant_id", "clip_id", "role", name="uq_rating_clip"),
    )
    op.create_index("ix_ratings_participant_id", "ratings", ["participant_id"])
    op.create_index("ix_ratings_clip_id", "ratings", ["clip_id"])
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"),
                  nullable=False, unique=True),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in ("contacts", "ratings", "assignments", "participants", "clips", "study"):
        op.drop_table(table)
