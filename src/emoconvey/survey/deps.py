"""Shared state of the survey app and its FastAPI dependencies.

:class:`SurveyContext` holds everything a request handler needs that is fixed for a
study (config, store, compiled templates, the clip table) and lives in
``app.state.ctx``. The dependencies validate what every route of a kind must check
before doing any work: the session token's shape (:func:`session_token`), the form body
(:func:`form_body`: form content types only, no uploads, no repeated fields, same
origin), the CSRF double-submit cookie of ``POST /start`` (:func:`start_csrf`) and the
admin token (:func:`require_admin`, :func:`admin_form`). The per-session CSRF token is
checked by :func:`check_csrf` inside the handler's database transaction, where the
session row is read anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, Template

from emoconvey.survey.config import StudyConfig
from emoconvey.survey.middleware import BodyTooLarge
from emoconvey.survey.storage import Store
from emoconvey.survey.study import OpenStudy

__all__ = [
    "CSRF_COOKIE",
    "Ctx",
    "Form",
    "SessionToken",
    "SurveyContext",
    "admin_form",
    "check_csrf",
    "form_body",
    "int_field",
    "require_admin",
    "run_db",
    "session_token",
    "start_csrf",
]

T = TypeVar("T")

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
CSRF_COOKIE = "ec_csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
INT_RE = re.compile(r"-?[0-9]{1,6}")
MAX_FIELDS = 64


async def run_db(func: Callable[[], T], limiter: anyio.CapacityLimiter | None) -> T:
    """Run blocking database work ``func`` in a worker thread of ``limiter``.

    Database work has its own, small pool (``threads`` of
    :func:`emoconvey.survey.app.create_app`) so that it neither starves nor is starved by
    other blocking work (file responses use anyio's default pool); ``None`` uses the
    default pool.
    """
    return await anyio.to_thread.run_sync(func, limiter=limiter)


@dataclass
class SurveyContext:
    """Everything fixed for a study that the routes share (``app.state.ctx``)."""

    study: OpenStudy
    env: Environment
    templates: dict[str, Template]
    clip_by_id: dict[int, Any]
    sample_id: int | None
    attention_ids: list[int]
    rng: random.Random
    manikins: dict[str, list[str]]
    admin_token: str | None
    secure_cookies: bool
    n_threads: int
    completion_url: str | None
    screenout_url: str | None
    limiter: anyio.CapacityLimiter | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self) -> StudyConfig:
        return self.study.config

    @property
    def store(self) -> Store:
        return self.study.store

    @property
    def expiry_s(self) -> float:
        return self.cfg.session_expiry_minutes * 60.0

    async def db(self, func: Callable[[], T]) -> T:
        """Run blocking database work in the app's database thread pool."""
        return await run_db(func, self.limiter)

    def template(self, name: str) -> Template:
        if name not in self.templates:
            self.templates[name] = self.env.get_template(name)
        return self.templates[name]

    def render(self, request: Request, name: str, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        """Render a participant page (never cached)."""
        html = self.template(name).render(cfg=self.cfg, base=base_url(request),
                                          manikins=self.manikins, **ctx)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def admin_csrf(self) -> str:
        """CSRF token of the admin forms, derived from the admin token."""
        assert self.admin_token is not None
        return hmac.new(self.admin_token.encode(), b"emoconvey-admin-csrf",
                        hashlib.sha256).hexdigest()


def get_ctx(request: Request) -> SurveyContext:
    return request.app.state.ctx


Ctx = Annotated[SurveyContext, Depends(get_ctx)]


def base_url(request: Request) -> str:
    """URL prefix of the app (``root_path`` behind a proxy), without a trailing slash.

    Inside a mounted sub-application (``/static``) Starlette appends the mount path to
    ``root_path``; ``app_root_path`` keeps the application's own, so an error page there
    links ``/static/survey.css``, not ``/static/static/survey.css``.
    """
    scope = request.scope
    return str(scope.get("app_root_path", scope.get("root_path", ""))).rstrip("/")


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def redirect_to_session(request: Request, session: str, **extra: Any) -> Any:
    """After a POST: the session's page (303), or ``{"ok": true, ...}`` for JSON clients."""
    if wants_json(request):
        return JSONResponse({"ok": True, **extra})
    return RedirectResponse(f"{base_url(request)}/s/{session}", status_code=303)


# ----------------------------------------------------------------------------- dependencies


def session_token(token: str) -> str:
    """The ``{token}`` path parameter, when it has the shape of a session token."""
    if not TOKEN_RE.match(token):
        raise HTTPException(404, "unknown session link")
    return token


SessionToken = Annotated[str, Depends(session_token)]


def check_origin(request: Request) -> None:
    """Refuse cross-origin form submissions (``Origin`` other than this host)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise HTTPException(403, "cross-origin form submissions are not accepted")


async def form_body(request: Request) -> dict[str, str]:
    """The form fields of a POST: same origin, form content type, each field once."""
    check_origin(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in FORM_TYPES:
        raise HTTPException(415, "expected a form body (application/x-www-form-urlencoded)")
    items: list[tuple[str, Any]]
    try:
        if ctype == FORM_TYPES[0]:  # the common case, parsed without python-multipart
            body = (await request.body()).decode("utf-8")
            items = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        else:
            items = (await request.form(max_files=0, max_fields=MAX_FIELDS)).multi_items()
    except BodyTooLarge:
        raise  # answered with 413 by BodyLimitMiddleware
    except UnicodeDecodeError:
        raise HTTPException(400, "malformed form body: not UTF-8 text") from None
    except Exception:
        raise HTTPException(400, "malformed form body (or more than "
                                 f"{MAX_FIELDS} fields)") from None
    out: dict[str, str] = {}
    for key, value in items:
        if not isinstance(value, str):
            raise HTTPException(400, f"field {key!r}: file uploads are not accepted")
        if key in out:
            raise HTTPException(400, f"field {key!r} given more than once")
        out[key] = value
    return out


Form = Annotated[dict[str, str], Depends(form_body)]


def start_csrf(request: Request, form: Form) -> None:
    """CSRF check of ``POST /start``: the form's token equals the double-submit cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(form.get("csrf", "").encode(), cookie.encode()):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page")


def check_csrf(p_csrf: str, form: dict[str, str]) -> None:
    """The form's CSRF token equals the session's (checked inside the transaction)."""
    if not hmac.compare_digest(form.get("csrf", "").encode(), p_csrf.encode()):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page")


def int_field(form: dict[str, str], name: str, lo: int, hi: int) -> int:
    """An integer form field in ``[lo, hi]`` (422 otherwise)."""
    raw = form.get(name)
    if raw is None or raw.strip() == "":
        raise HTTPException(422, f"field {name!r} is required")
    raw = raw.strip()
    if not INT_RE.fullmatch(raw):
        raise HTTPException(422, f"field {name!r}: expected an integer, got {raw[:20]!r}")
    value = int(raw)
    if not lo <= value <= hi:
        raise HTTPException(422, f"field {name!r}: expected {lo} to {hi}, got {value}")
    return value


def check_admin_token(request: Request, ctx: SurveyContext,
                      form: dict[str, str] | None = None) -> None:
    if ctx.admin_token is None:
        raise HTTPException(404, "the admin page is disabled (no admin token set)")
    given = request.headers.get("authorization", "")
    given = given[7:] if given.lower().startswith("bearer ") else ""
    given = given or request.query_params.get("token", "")
    given = given or (form or {}).get("token", "")
    if not given:
        raise HTTPException(401, "admin token required", headers={"www-authenticate": "Bearer"})
    if not hmac.compare_digest(given.encode(), ctx.admin_token.encode()):
        raise HTTPException(403, "wrong admin token")


def require_admin(request: Request, ctx: Ctx) -> None:
    """The admin token, as ``Authorization: Bearer`` or ``?token=``."""
    check_admin_token(request, ctx)


async def admin_form(request: Request, ctx: Ctx, form: Form) -> dict[str, str]:
    """An admin POST: the admin token (header, query or form field) and the admin CSRF."""
    check_admin_token(request, ctx, form)
    if not hmac.compare_digest(form.get("csrf", "").encode(), ctx.admin_csrf().encode()):
        raise HTTPException(403, "invalid or missing CSRF token; reload the admin page")
    return form
