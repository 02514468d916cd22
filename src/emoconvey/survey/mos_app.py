"""The web server of a MOS study (``protocol: musiceval``; see :mod:`.mos_study`).

Built like :func:`emoconvey.survey.app.create_app`: the same middleware (strict
Content-Security-Policy, body limit), the shared static files and page layout, and the
routes of :mod:`emoconvey.survey.routers.mos`. One server process per study: the
assignment state lives in the process (and in the database, from which it is restored).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emoconvey.survey.middleware import (
    MAX_BODY_BYTES,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
)
from emoconvey.survey.protocols.musiceval import MosStudy
from emoconvey.survey.routers import mos

__all__ = ["create_mos_app"]

HERE = Path(__file__).resolve().parent


def create_mos_app(study: MosStudy, *, admin_token: str | None,
                   secure_cookies: bool = False) -> FastAPI:
    """Build the FastAPI application of a MOS study.

    Parameters
    ----------
    study : MosStudy
        From :func:`emoconvey.survey.protocols.musiceval.open_mos_study`.
    admin_token : str or None
        Secret of ``/admin``; None disables it.
    secure_cookies : bool
        Accepted for the shared factory signature (MOS pages set no cookies).
    """
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(["html"]), auto_reload=False)
    app = FastAPI(title=study.config.title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.mos = study
    app.state.mos_page = env.get_template("mos_page.html")
    app.state.mos_admin = env.get_template("mos_admin.html")
    app.state.mos_admin_token = admin_token
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.include_router(mos.router)
    return app
