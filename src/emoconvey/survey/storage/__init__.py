"""Storage of every study protocol: one SQLAlchemy schema under Alembic, one access layer.

``schema``      tables of both protocols (AImoclips: ``study``, ``clips``, ``participants``,
              ``assignments``, ``ratings``, ``contacts``; MusicEval MOS: ``mos_*``),
              engines (SQLite in WAL mode or PostgreSQL), :class:`Store` (serialised
              writes) and :func:`migrate`
``access``    the queries of the participant routes (no SQL in the routers)
``migrations`` the Alembic history (0005 brings ``mos.db`` files of earlier versions in)
"""

from __future__ import annotations

from emoconvey.survey.storage.schema import (
    Assignment,
    Base,
    Clip,
    Contact,
    Participant,
    Rating,
    Store,
    Study,
    database_has_row,
    database_url,
    is_sqlite,
    make_engine,
    migrate,
    mos_answers,
    mos_batches,
    mos_clips,
    mos_prompts,
    mos_raters,
    mos_study,
    now,
)

__all__ = [
    "Assignment",
    "Base",
    "Clip",
    "Contact",
    "Participant",
    "Rating",
    "Store",
    "Study",
    "database_has_row",
    "database_url",
    "is_sqlite",
    "make_engine",
    "migrate",
    "mos_answers",
    "mos_batches",
    "mos_clips",
    "mos_prompts",
    "mos_raters",
    "mos_study",
    "now",
]
