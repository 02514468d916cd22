"""Listening-test server: run an AImoclips-style valence/arousal rating study.

The subpackage needs the ``survey`` extra (FastAPI, SQLAlchemy, Alembic, ...). Importing
``emoconvey.survey`` itself is cheap; the heavy modules are loaded on first use:

``config``      study configuration (YAML or TOML) and participant-facing texts
``manifest``    the clips of a study (manifest CSV or AImoclips release layout)
``db``          SQLAlchemy models, engines and Alembic migrations
``assignment``  which clips a participant rates (least-rated first, distinct pairs)
``qc``          quality-control flags (repeats, attention clips, straight-lining, speed)
``export``      AImoclips-format CSV export for ``emoconvey report``
``app``         the FastAPI application (participant flow and admin page)
``demo``        a small synthetic study anyone can run
``cli``         the ``emoconvey survey`` commands (Typer app ``app``)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["assignment", "config", "db", "demo", "export", "manifest", "qc"]


def __getattr__(name: str) -> Any:
    if name in {"assignment", "config", "db", "demo", "export", "manifest", "qc", "app",
                "cli", "svg"}:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
