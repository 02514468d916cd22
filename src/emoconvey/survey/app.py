"""The listening-test web application (FastAPI, server-rendered Jinja2 pages).

Laid out like FastAPI's reference projects: :func:`create_app` builds the shared
:class:`~emoconvey.survey.deps.SurveyContext` and mounts

- :mod:`emoconvey.survey.routers.participant`: consent, ``/s/<token>`` steps, answers;
- :mod:`emoconvey.survey.routers.audio`: a session's clips and the study's logo;
- :mod:`emoconvey.survey.routers.admin`: progress page, JSON status, releasing IDs;

with the checks every route of a kind needs as dependencies
(:mod:`emoconvey.survey.deps`) and the ASGI middleware in
:mod:`emoconvey.survey.middleware`.

Security: session tokens are 256-bit random; POSTs carry a CSRF token (per session, or
a double-submit cookie before a session exists) and cross-origin POSTs are refused;
bodies over 16 KiB (declared or streamed: 413), non-form bodies, missing fields and
out-of-scale answers get a 4xx without any change; only a session's own clips can be
fetched; resuming through the platform ID works only in the browser that started the
session. Participants see errors as pages in the study's language; JSON clients and the
admin routes get ``{"detail": ...}``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio
from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emoconvey.survey.deps import SurveyContext, run_db
from emoconvey.survey.middleware import MAX_BODY_BYTES
from emoconvey.survey.pages import install_common
from emoconvey.survey.routers import admin, audio, participant
from emoconvey.survey.study import OpenStudy, clip_table
from emoconvey.survey.svg import manikin_row

__all__ = ["MAX_BODY_BYTES", "create_app", "run_db"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SQLITE_THREADS = 4
"""Worker threads for database work on SQLite: one writer at a time anyway, and fewer
threads contending for the GIL keep the event loop responsive."""
SERVER_THREADS = 16
"""Worker threads for database work on a client-server database (PostgreSQL)."""
PAGES = ("consent.html", "demographics.html", "sample.html", "instructions.html",
         "rate.html", "done.html", "ineligible.html", "error.html", "pid_in_use.html",
         "admin.html", "admin_released.html")


def create_app(
    study: OpenStudy,
    *,
    admin_token: str | None,
    seed: int | None = None,
    secure_cookies: bool = False,
    threads: int | None = None,
) -> FastAPI:
    """Build the FastAPI application of a study.

    Parameters
    ----------
    study : OpenStudy
        From :func:`emoconvey.survey.study.open_study`.
    admin_token : str or None
        Secret for the admin page; ``None`` disables it.
    seed : int, optional
        Seed of the assignment's random choices (tests, simulations); default:
        operating-system randomness.
    secure_cookies : bool
        Mark the cookies ``Secure`` (set when served over HTTPS).
    threads : int, optional
        Number of worker threads that run database work at once (created at start-up,
        see :func:`run_db`); default :data:`SQLITE_THREADS` on SQLite,
        :data:`SERVER_THREADS` otherwise.
    """
    cfg = study.config
    clips = clip_table(study)
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,  # templates are part of the package: compile each once
    )
    completion_url = (cfg.completion_url.replace("{code}", quote(cfg.completion_code))
                      if cfg.completion_url else None)
    screenout_url = (cfg.screenout_url.replace("{code}", quote(cfg.screenout_code or ""))
                     if cfg.screenout_url else None)
    ctx = SurveyContext(
        study=study,
        env=env,
        templates={name: env.get_template(name) for name in PAGES},
        clip_by_id={int(r.id): r for r in clips.itertuples()},
        sample_id=next((int(r.id) for r in clips.itertuples() if r.role == "sample"), None),
        attention_ids=[int(r.id) for r in clips.itertuples() if r.role == "attention"],
        rng=random.Random(seed) if seed is not None else random.SystemRandom(),
        manikins={"valence": manikin_row("valence"), "arousal": manikin_row("arousal")},
        admin_token=admin_token,
        secure_cookies=secure_cookies,
        n_threads=threads or (SQLITE_THREADS if study.store.sqlite else SERVER_THREADS),
        completion_url=completion_url,
        screenout_url=screenout_url,
    )

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        ctx.limiter = anyio.CapacityLimiter(ctx.n_threads)
        log.info("serving with %d database worker threads", ctx.n_threads)
        yield

    app = FastAPI(title=cfg.title, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.ctx = ctx
    app.state.study = study
    app.state.clips = ctx.clip_by_id
    install_common(app, cfg=lambda: ctx.cfg, render=ctx.render)
    app.include_router(participant.router)
    app.include_router(audio.router)
    app.include_router(admin.router)

    return app

