"""Bind resuming by platform ID to the browser that started the session.

``participants.resume_hash`` holds the SHA-256 (hex) of a random secret kept in an
HttpOnly cookie of the browser that started the session; only that browser may come
back through the platform ID (``?PROLIFIC_PID=``). ``released`` marks a session the
operator released for the next browser presenting the ID; ``NULL`` (sessions created
before this migration) never resumes by ID (the session link still works).

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("participants", sa.Column("resume_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("resume_hash")
