"""Counter of main ratings per clip, maintained by triggers.

Clip loads are read on every just-in-time assignment; counting every rating each time
grows with the study. ``clips.n_rated`` holds the count instead, kept by triggers on
``ratings`` (insert, delete, update of ``clip_id`` or ``role``) inside the transaction
that changes a rating, so it equals a recount for every writer, ORM or not.

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE = [
    """CREATE TRIGGER trg_ratings_count_ins AFTER INSERT ON ratings
       WHEN NEW.role = 'main'
       BEGIN UPDATE clips SET n_rated = n_rated + 1 WHERE id = NEW.clip_id; END""",
    """CREATE TRIGGER trg_ratings_count_del AFTER DELETE ON ratings
       WHEN OLD.role = 'main'
       BEGIN UPDATE clips SET n_rated = n_rated - 1 WHERE id = OLD.clip_id; END""",
    """CREATE TRIGGER trg_ratings_count_upd AFTER UPDATE OF clip_id, role ON ratings
       BEGIN
         UPDATE clips SET n_rated = n_rated - 1 WHERE id = OLD.clip_id AND OLD.role = 'main';
         UPDATE clips SET n_rated = n_rated + 1 WHERE id = NEW.clip_id AND NEW.role = 'main';
       END""",
]

_POSTGRES = [
    """CREATE FUNCTION emoconvey_count_ratings() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.role = 'main' THEN
           UPDATE clips SET n_rated = n_rated - 1 WHERE id = OLD.clip_id;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.role = 'main' THEN
           UPDATE clips SET n_rated = n_rated + 1 WHERE id = NEW.clip_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_ratings_count AFTER INSERT OR DELETE OR UPDATE OF clip_id, role
       ON ratings FOR EACH ROW EXECUTE FUNCTION emoconvey_count_ratings()""",
]


def upgrade() -> None:
    op.add_column("clips", sa.Column("n_rated", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.execute("UPDATE clips SET n_rated = (SELECT COUNT(*) FROM ratings r "
               "WHERE r.clip_id = clips.id AND r.role = 'main')")
    for stmt in _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRES:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ins", "del", "upd"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_ratings_count_{name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_ratings_count ON ratings")
        op.execute("DROP FUNCTION IF EXISTS emoconvey_count_ratings()")
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("n_rated")
