"""The AImoclips protocol (Go et al., 2025): valence and arousal of TTM clips.

* **Scales**: 9-point valence and arousal with pictorial (manikin) anchors
  (:mod:`emoconvey.survey.svg`), texts in the study's language
  (:mod:`emoconvey.survey.config`).
* **Grouping and assignment**: ``clips_per_participant`` clips (56 in AImoclips) from
  distinct (system, intent) pairs, least-rated first, just in time or up front, plus
  repeats and attention clips (:mod:`emoconvey.survey.assignment`); every decision in one
  transaction serialised across processes.
* **Quality rules**: repeats, attention clips, straight-lining, speed
  (:mod:`emoconvey.survey.qc`); clips with <= 3 ratings are excluded at analysis.
* **Export**: AImoclips-format CSV for ``emoconvey report``
  (:mod:`emoconvey.survey.export`).

Participants come through an open link (``/``, ``?PROLIFIC_PID=``); pages are served by
:func:`emoconvey.survey.app.create_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emoconvey.survey.protocols.base import Protocol

__all__ = ["PROTOCOL", "holds_aimoclips_study"]


def holds_aimoclips_study(db: str | Path) -> bool:
    """Whether the database ``db`` (file or URL) holds an AImoclips study."""
    from sqlalchemy import select

    from emoconvey.survey.storage import Study, database_has_row

    return database_has_row(db, "study", select(Study.id))


def _open(db: str | Path) -> Any:
    from emoconvey.survey.study import open_study

    return open_study(db)



PROTOCOL = Protocol(
    name="aimoclips",
    summary="9-point valence/arousal; one clip per (system, intent) pair, least-rated first",
    holds=holds_aimoclips_study,
    open=_open,
    app_factory="emoconvey.survey.app:create_app",
)
