"""Listening-test server: one study engine for every protocol (AImoclips, MusicEval MOS).

The subpackage needs the ``survey`` extra (FastAPI, SQLAlchemy, Alembic, ...). Importing
``emoconvey.survey`` itself is cheap; the heavy modules are loaded on first use:

``config``      study configuration (YAML or TOML) and participant-facing texts
``manifest``    the clips of a study (manifest CSV or AImoclips release layout)
``storage``     the one SQLAlchemy schema (both protocols), engines, Alembic migrations
                and the participant routes' queries
``protocols``   what differs between protocols (registry; ``aimoclips``, ``musiceval``)
``assignment``  which clips a participant rates (least-rated first, distinct pairs)
``qc``          quality-control flags (repeats, attention clips, straight-lining, speed)
``export``      AImoclips-format CSV export for ``emoconvey report``
``pages``       what every study's web app shares (static, favicon, error pages)
``app``         the FastAPI application of AImoclips studies (``mos_app``: MOS studies)
``server``      ``survey serve --workers N``: apps built in each worker process
``demo``        a small synthetic study anyone can run
``cli``         the ``emoconvey survey`` commands (Typer app ``app``)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["assignment", "config", "db", "demo", "export", "manifest", "qc"]


def __getattr__(name: str) -> Any:
    if name in {"assignment", "config", "demo", "export", "manifest", "qc", "app",
                "cli", "svg", "storage", "protocols", "pages", "server", "mos_app"}:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
