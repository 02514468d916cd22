"""Serving a study with several uvicorn worker processes (``survey serve --workers N``).

uvicorn starts each worker in a fresh process that imports the application by name, so
the settings travel in the environment variable ``EMOCONVEY_SURVEY_SERVE`` (JSON) and
:func:`app_from_env` builds the application in each worker. Every protocol keeps its
whole assignment state in the database (SQLite file or PostgreSQL), so the workers serve
one study together.
"""

from __future__ import annotations

import json
import os
from typing import Any

from emoconvey.errors import EmoconveyError

__all__ = ["SERVE_ENV", "app_from_env", "serve_settings"]

SERVE_ENV = "EMOCONVEY_SURVEY_SERVE"
FACTORY = "emoconvey.survey.server:app_from_env"


def serve_settings(*, protocol: str, db: str, admin_token: str | None,
                   secure_cookies: bool = False) -> str:
    """The JSON value of :data:`SERVE_ENV` for :func:`app_from_env`."""
    from emoconvey.survey.protocols import get_protocol

    get_protocol(protocol)
    return json.dumps({"protocol": protocol, "db": db, "admin_token": admin_token,
                       "secure_cookies": secure_cookies})


def app_from_env() -> Any:
    """Build the study's FastAPI application from :data:`SERVE_ENV` (in a worker)."""
    raw = os.environ.get(SERVE_ENV)
    if not raw:
        raise EmoconveyError(f"{SERVE_ENV} is not set; start workers with 'survey serve'")
    s = json.loads(raw)
    from emoconvey.survey.protocols import get_protocol

    proto = get_protocol(s["protocol"])
    return proto.create_app(proto.open(s["db"]), admin_token=s["admin_token"],
                            secure_cookies=bool(s["secure_cookies"]))
