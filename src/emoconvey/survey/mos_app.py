"""The web server of a MOS study (``protocol: musiceval``; see
:mod:`emoconvey.survey.protocols.musiceval`).

Built on what every study shares (:func:`emoconvey.survey.pages.install_common`: strict
Content-Security-Policy, body limit, static files, favicon, error pages in the study's
language) and the page layout of ``base.html`` (step indicator, ``lang``), with the
routes of :mod:`emoconvey.survey.routers.mos`. The assignment state lives in the
database only, so any number of server processes can serve the study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emoconvey.survey.deps import base_url
from emoconvey.survey.pages import install_common
from emoconvey.survey.protocols.musiceval import MosStudy
from emoconvey.survey.routers import mos

__all__ = ["MOS_STEPS", "MosPages", "create_mos_app"]

HERE = Path(__file__).resolve().parent
MOS_STEPS = ["instructions", "rating", "done"]
"""Steps of the indicator on MOS pages (names: the ``steps`` text)."""


class MosPages:
    """Renders the pages of a MOS study with its config (texts, language)."""

    def __init__(self, study: MosStudy) -> None:
        self.study = study
        env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                          autoescape=select_autoescape(["html"]), auto_reload=False)
        self.templates = {name: env.get_template(name)
                          for name in ("mos_page.html", "mos_admin.html", "error.html")}

    def render(self, request: Request, name: str, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        """Render a page (never cached)."""
        cfg = self.study.config
        ctx.setdefault("page_title", cfg.title)
        html = self.templates[name].render(cfg=cfg, base=base_url(request),
                                           step_keys=MOS_STEPS, **ctx)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


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
    pages = MosPages(study)
    app = FastAPI(title=study.config.title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.mos = study
    app.state.mos_pages = pages
    app.state.mos_admin_token = admin_token
    install_common(app, cfg=lambda: study.config, render=pages.render)
    app.include_router(mos.router)
    return app
