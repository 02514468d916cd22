"""The listening-test web application (FastAPI, server-rendered Jinja2 pages).

Participant flow: ``GET /`` (information and consent) -> ``/s/<token>`` which always
shows the participant's current step: demographics, sample clip, instructions, one
clip per page, completion code. Every answer is saved when given; reloading or
returning with the same link continues where the participant stopped, and submitting
a page twice never creates a second rating.

Operator: ``GET /admin`` with the admin token (``Authorization: Bearer <token>`` or
``?token=<token>``) shows progress; ``/admin/status.json`` the same as JSON.

Security: session tokens are 256-bit random; POSTs carry a CSRF token (per session, or
a double-submit cookie before a session exists) and cross-origin POSTs are refused;
bodies over 16 KiB, non-form bodies, missing fields and out-of-scale answers get a 4xx
without any change; only a session's own clips can be fetched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from emoconvey.survey.assignment import (
    assign_clips,
    assign_next_core,
    slot_rows,
    start_plan,
)
from emoconvey.survey.db import Assignment, Contact, Participant, Rating, now
from emoconvey.survey.study import OpenStudy, clip_table
from emoconvey.survey.svg import manikin_row

__all__ = ["MAX_BODY_BYTES", "create_app", "run_db"]

T = TypeVar("T")

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 16 * 1024
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
CSRF_COOKIE = "ec_csrf"
RESUME_COOKIE = "ec_resume"
"""HttpOnly cookie of the browser that started a session; its SHA-256 is stored with the
session, and only that browser may resume through the platform ID."""
RELEASED = "released"
COOKIE_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
TOUCH_EVERY_S = 60.0
SQLITE_THREADS = 4
"""Worker threads for database work on SQLite: one writer at a time anyway, and fewer
threads contending for the GIL keep the event loop responsive."""
SERVER_THREADS = 16
"""Worker threads for database work on a client-server database (PostgreSQL)."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
INT_RE = re.compile(r"-?[0-9]{1,6}")
RT_RE = re.compile(r"[0-9]{1,9}")
TEMPLATES = {"demographics": "demographics.html", "sample": "sample.html",
             "instructions": "instructions.html", "rating": "rate.html",
             "done": "done.html", "ineligible": "ineligible.html"}


def resume_hash(secret: str) -> str:
    """SHA-256 (hex) of a resume-cookie value, as stored in ``participants.resume_hash``."""
    return hashlib.sha256(secret.encode()).hexdigest()

# Core statements of the hot paths (built once; SQLAlchemy caches their compiled form)
_P = Participant
_PARTICIPANT = select(_P.id, _P.csrf, _P.stage, _P.last_seen, _P.plan_json).where(
    _P.token == bindparam("token"))
_CLIP_AT = (select(Assignment.clip_id)
            .join(_P, _P.id == Assignment.participant_id)
            .where(_P.token == bindparam("token"), Assignment.position == bindparam("pos")))
_TOUCH = update(_P).where(_P.id == bindparam("pid")).values(last_seen=bindparam("t"))
_FINISH = update(_P).where(_P.id == bindparam("pid")).values(
    last_seen=bindparam("t"), stage="done", finished_at=bindparam("t"))
_INSERT_RATING = insert(Rating)


async def run_db(func: Callable[[], T], limiter: anyio.CapacityLimiter | None) -> T:
    """Run blocking database work ``func`` in a worker thread of ``limiter``.

    Database work has its own, small pool (``threads`` of :func:`create_app`) so that it
    neither starves nor is starved by other blocking work (file responses use anyio's
    default pool); ``None`` uses the default pool.
    """
    return await anyio.to_thread.run_sync(func, limiter=limiter)


class _TooLarge(Exception):
    pass




class BodyLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _plain(send, 400, "malformed Content-Length header")
                return
            if too_big:
                await _plain(send, 413, f"request body larger than {self.max_bytes} bytes")
                return
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _plain(send, 413, f"request body larger than {self.max_bytes} bytes")


class SecurityHeadersMiddleware:
    """Add a strict Content-Security-Policy and related headers to every response."""

    HEADERS = (
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data:; media-src 'self'; "
         b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, add_headers)


async def _plain(send: Any, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


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
        Mark the CSRF cookie ``Secure`` (set when served over HTTPS).
    threads : int, optional
        Number of worker threads that run database work at once (created at start-up,
        see :func:`run_db`); default :data:`SQLITE_THREADS` on SQLite,
        :data:`SERVER_THREADS` otherwise.
    """
    cfg = study.config
    store = study.store
    root = study.clips_root.resolve()
    clips = clip_table(study)
    clip_by_id = {int(r.id): r for r in clips.itertuples()}
    sample_id = next((int(r.id) for r in clips.itertuples() if r.role == "sample"), None)
    attention_ids = [int(r.id) for r in clips.itertuples() if r.role == "attention"]
    rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
    scales = {s.name: s for s in cfg.scales}
    manikins = {"valence": manikin_row("valence"), "arousal": manikin_row("arousal")}
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,  # templates are part of the package: compile each once
    )
    expiry_s = cfg.session_expiry_minutes * 60.0
    n_threads = threads or (SQLITE_THREADS if store.sqlite else SERVER_THREADS)
    genders = cfg.text("gender_options").split("|")
    completion_url = (cfg.completion_url.replace("{code}", quote(cfg.completion_code))
                      if cfg.completion_url else None)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        app_.state.db_limiter = anyio.CapacityLimiter(n_threads)
        log.info("serving with %d database worker threads", n_threads)
        yield

    app = FastAPI(title=cfg.title, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.state.study = study
    app.state.db_limiter = None  # set at start-up (lifespan), in the serving event loop

    async def db(func: Callable[[], T]) -> T:
        return await run_db(func, app.state.db_limiter)
    # immutable per study: compiled templates and the clip table, kept with the app
    app.state.templates = {name: env.get_template(name) for name in
                           {*TEMPLATES.values(), "error.html", "consent.html",
                                             "pid_in_use.html"}}
    app.state.clips = clip_by_id
    templates = app.state.templates

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("page_title", cfg.title)
        html = templates[name].render(cfg=cfg, base=base(request), manikins=manikins, **ctx)
        return HTMLResponse(html, status_code=status,
                            headers={"cache-control": "no-store"})

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Any:
        if wants_json(request) or request.url.path.startswith("/admin"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        return render(request, "error.html", status=exc.status_code, message=str(exc.detail),
                      page_title=cfg.text("error_title"))

    def done(request: Request, session_token: str, **extra: Any) -> Any:
        if wants_json(request):
            return JSONResponse({"ok": True, **extra})
        return RedirectResponse(f"{base(request)}/s/{session_token}", status_code=303)

    # ------------------------------------------------------------------ helpers

    def check_origin(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin and origin != "null":
            host = request.headers.get("host", "")
            if urlsplit(origin).netloc != host:
                raise HTTPException(403, "cross-origin form submissions are not accepted")

    async def read_form(request: Request) -> dict[str, str]:
        check_origin(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in FORM_TYPES:
            raise HTTPException(415, "expected a form body (application/x-www-form-urlencoded)")
        items: list[tuple[str, Any]]
        try:
            if ctype == FORM_TYPES[0]:  # the common case, parsed without python-multipart
                body = (await request.body()).decode("utf-8")
                items = parse_qsl(body, keep_blank_values=True, max_num_fields=64)
            else:
                items = (await request.form(max_files=0, max_fields=64)).multi_items()
        except HTTPException:
            raise
        except Exception as exc:
            raise HTTPException(400, f"malformed form body ({type(exc).__name__})") from None
        out: dict[str, str] = {}
        for key, value in items:
            if not isinstance(value, str):
                raise HTTPException(400, f"field {key!r}: file uploads are not accepted")
            if key in out:
                raise HTTPException(400, f"field {key!r} given more than once")
            out[key] = value
        return out

    def check_token(token: str) -> None:
        if not TOKEN_RE.match(token):
            raise HTTPException(404, "unknown session link")

    def get_participant(s: Any, token: str) -> Participant:
        p = s.scalar(select(Participant).where(Participant.token == token))
        if p is None:
            raise HTTPException(404, "unknown session link")
        return p

    def check_csrf(p_csrf: str, form: dict[str, str]) -> None:
        if not hmac.compare_digest(form.get("csrf", "").encode(), p_csrf.encode()):
            raise HTTPException(403, "invalid or missing CSRF token; reload the page")

    def int_field(form: dict[str, str], name: str, lo: int, hi: int) -> int:
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

    # ------------------------------------------------------------------ participant

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def consent(request: Request) -> Any:
        return await db(lambda: consent_page(request))

    def resume_cookie(request: Request) -> str | None:
        value = request.cookies.get(RESUME_COOKIE)
        return value if value and COOKIE_RE.fullmatch(value) else None

    def set_resume_cookie(resp: Any, value: str) -> None:
        # Lax, not Strict: participants come back from the recruitment platform through
        # a cross-site top-level link, which must carry the cookie
        resp.set_cookie(RESUME_COOKIE, value, httponly=True, samesite="lax",
                        secure=secure_cookies, max_age=30 * 24 * 3600)

    def pid_session(s: Any, pid: str) -> Any:
        return s.execute(select(Participant.id, Participant.token, Participant.resume_hash)
                         .where(Participant.platform_pid == pid)
                         .order_by(Participant.id).limit(1)).first()

    def owns(row: Any, cookie: str | None) -> bool:
        return bool(cookie and row.resume_hash and row.resume_hash != RELEASED
                    and hmac.compare_digest(row.resume_hash.encode(),
                                            resume_hash(cookie).encode()))

    def pid_in_use_page(request: Request) -> HTMLResponse:
        return render(request, "pid_in_use.html", status=409,
                      page_title=cfg.text("pid_in_use_title"))

    def consent_page(request: Request) -> Any:
        pid = request.query_params.get(cfg.platform_param)
        if pid is not None:
            pid = pid.strip()[:128] or None
        cookie = resume_cookie(request)
        if pid:
            with store.read() as s:
                row = pid_session(s, pid)
            if row is not None and owns(row, cookie):
                return RedirectResponse(f"{base(request)}/s/{row.token}", status_code=303)
            if row is not None and row.resume_hash != RELEASED:
                return pid_in_use_page(request)
            # no session yet, or released by the operator: consent (again); POST /start
            # creates the session or binds the released one to this browser
        csrf = request.cookies.get(CSRF_COOKIE)
        if not csrf or not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", csrf):
            csrf = secrets.token_urlsafe(24)
        resp = render(request, "consent.html", csrf=csrf, pid=pid,
                      page_title=cfg.text("consent_title"))
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                        secure=secure_cookies, max_age=7 * 24 * 3600)
        if cookie is None:
            set_resume_cookie(resp, secrets.token_urlsafe(32))
        return resp

    @app.post("/start")
    async def start(request: Request) -> Any:
        form = await read_form(request)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(form.get("csrf", "").encode(), cookie.encode()):
            raise HTTPException(403, "invalid or missing CSRF token; reload the page")
        if form.get("consent") != "yes":
            raise HTTPException(422, "field 'consent' is required to take part")
        pid = (form.get("pid") or "").strip()[:128] or None

        cookie = resume_cookie(request) or secrets.token_urlsafe(32)

        def create() -> str | None:
            with store.write() as s:
                if pid:
                    row = pid_session(s, pid)
                    if row is not None and owns(row, cookie):
                        return row.token
                    if row is not None and row.resume_hash == RELEASED:
                        s.execute(update(Participant).where(Participant.id == row.id)
                                  .values(resume_hash=resume_hash(cookie)))
                        return row.token
                    if row is not None:
                        return None
                t = now()
                token = secrets.token_urlsafe(32)
                s.add(Participant(token=token, csrf=secrets.token_urlsafe(24), platform_pid=pid,
                                  stage="demographics", created_at=t, last_seen=t,
                                  resume_hash=resume_hash(cookie)))
                return token

        token = await db(create)
        if token is None:
            if wants_json(request):
                raise HTTPException(409, "this participant ID has already started the study "
                                         "in another browser; contact the researcher")
            return pid_in_use_page(request)
        resp = done(request, token, token=token)
        set_resume_cookie(resp, cookie)
        return resp

    def progress(rows: list[Any], plan_json: str | None) -> tuple[int, int, int]:
        """Position of the first unanswered slot (0: none), answers given, slots."""
        nxt = next((r.position for r in rows if not r.answered), 0)
        total = len(json.loads(plan_json)) if plan_json is not None else len(rows)
        return nxt, sum(1 for r in rows if r.answered), total

    @app.get("/s/{token}", response_class=HTMLResponse)
    async def page(request: Request, token: str) -> Any:
        check_token(token)
        return await db(lambda: show_page(request, token))

    def show_page(request: Request, token: str) -> Any:
        with store.read_conn() as c:
            p = c.execute(_PARTICIPANT, {"token": token}).first()
            if p is None:
                raise HTTPException(404, "unknown session link")
            ctx: dict[str, Any] = {"token": token, "csrf": p.csrf}
            stage = p.stage
            if stage == "rating":
                position, answered, total = progress(slot_rows(c, p.id), p.plan_json)
                ctx.update(position=position, number=answered + 1, total=total)
            if stage == "done":
                ctx["contact_saved"] = c.execute(
                    select(Contact.id).where(Contact.participant_id == p.id)).first() is not None
        if now() - p.last_seen > TOUCH_EVERY_S and stage in (
                "rating", "instructions", "sample", "demographics"):
            with store.write_conn() as c:
                c.execute(_TOUCH, {"pid": p.id, "t": now()})
        if stage == "done" and completion_url:
            ctx["completion_url"] = completion_url
        return render(request, TEMPLATES[stage], **ctx)

    @app.post("/s/{token}/demographics")
    async def demographics(request: Request, token: str) -> Any:
        check_token(token)
        form = await read_form(request)

        def save() -> None:
            with store.write() as s:
                p = get_participant(s, token)
                check_csrf(p.csrf, form)
                if p.stage != "demographics":
                    return
                gender = form.get("gender", "")
                if gender not in genders:
                    raise HTTPException(422, f"field 'gender': expected one of {genders}")
                age = int_field(form, "age", 1, 120)
                fluent = form.get("fluency") == "yes"
                p.gender, p.age, p.fluency = gender, age, fluent
                p.last_seen = now()
                eligible = age >= cfg.eligibility.min_age and (
                    fluent or not cfg.eligibility.require_fluency)
                if not eligible:
                    p.stage = "ineligible"
                else:
                    p.stage = "sample" if sample_id is not None else "instructions"

        await db(save)
        return done(request, token)

    @app.post("/s/{token}/sample")
    async def sample(request: Request, token: str) -> Any:
        check_token(token)
        form = await read_form(request)

        def save() -> None:  # the practice answer is never stored
            with store.write() as s:
                p = get_participant(s, token)
                check_csrf(p.csrf, form)
                if p.stage == "sample":
                    p.stage, p.last_seen = "instructions", now()

        await db(save)
        return done(request, token)

    @app.post("/s/{token}/instructions")
    async def instructions(request: Request, token: str) -> Any:
        check_token(token)
        form = await read_form(request)

        def save() -> None:
            with store.write(lock_assignment=True) as s:
                p = get_participant(s, token)
                check_csrf(p.csrf, form)
                if p.stage != "instructions":
                    return
                t = now()
                assign = assign_clips if cfg.assignment == "upfront" else start_plan
                assign(s, p, n=cfg.clips_per_participant, now=t, expiry_s=expiry_s, rng=rng,
                       repeats=cfg.quality.repeats, attention_ids=attention_ids)
                p.stage, p.last_seen = "rating", t

        await db(save)
        return done(request, token)

    @app.post("/s/{token}/rate")
    async def rate(request: Request, token: str) -> Any:
        check_token(token)
        form = await read_form(request)
        position = int_field(form, "position", 0, 10_000)
        values = {name: int_field(form, name, 1, sc.points) if sc.required
                  or form.get(name, "").strip() else None for name, sc in scales.items()}
        played = form.get("played", "0") == "1"
        if cfg.require_full_play and not played:
            raise HTTPException(422, "the clip must be played to the end before answering")
        rt_raw = form.get("rt_ms", "").strip()
        rt = int(rt_raw) if RT_RE.fullmatch(rt_raw) else None

        def save() -> str:
            # serialised with assignment: saving an answer assigns the next clip; plain
            # Core statements, committed before the answer is sent
            with store.write_conn(lock_assignment=True) as c:
                p = c.execute(_PARTICIPANT, {"token": token}).first()
                if p is None:
                    raise HTTPException(404, "unknown session link")
                check_csrf(p.csrf, form)
                rows = slot_rows(c, p.id)
                a = next((r for r in rows if r.position == position), None)
                nxt, answered, total = progress(rows, p.plan_json)
                if a is None:
                    if p.stage == "rating" and position < total:
                        raise HTTPException(409, "answer the clips in order")
                    raise HTTPException(422, f"field 'position': no clip at position {position}")
                if a.answered:
                    return "duplicate"
                if p.stage != "rating":
                    raise HTTPException(409, "this session is not at the rating stage")
                if position > nxt:  # a is unanswered, so the first unanswered slot exists
                    raise HTTPException(409, "answer the clips in order")
                t = now()
                extra = {k: v for k, v in values.items() if k not in ("valence", "arousal")}
                c.execute(_INSERT_RATING, {
                    "participant_id": p.id, "assignment_id": a.id, "clip_id": a.clip_id,
                    "role": a.role, "valence": values["valence"],
                    "arousal": values["arousal"], "extra_json": _json(extra),
                    "played_full": played, "response_ms": rt, "created_at": t})
                if answered + 1 >= total:
                    c.execute(_FINISH, {"pid": p.id, "t": t})
                else:
                    c.execute(_TOUCH, {"pid": p.id, "t": t})
                    if p.plan_json is not None:
                        done_rows = [r._replace(answered=True) if r.position == position
                                     else r for r in rows]
                        plan = [(str(role), ref) for role, ref in json.loads(p.plan_json)]
                        assign_next_core(c, p.id, plan, done_rows, now=t,
                                         expiry_s=expiry_s, rng=rng)
                return "saved"

        try:
            status = await db(save)
        except IntegrityError:  # a concurrent duplicate submission won the race
            status = "duplicate"
        return done(request, token, status=status)

    @app.post("/s/{token}/contact")
    async def contact(request: Request, token: str) -> Any:
        check_token(token)
        form = await read_form(request)
        text = form.get("contact", "").strip()
        if not text:
            raise HTTPException(422, "field 'contact' is required")
        if len(text) > 200:
            raise HTTPException(422, "field 'contact': at most 200 characters")

        def save() -> None:
            with store.write() as s:
                p = get_participant(s, token)
                check_csrf(p.csrf, form)
                if p.stage != "done" or not cfg.collect_contact:
                    raise HTTPException(409, "contact details are taken after the study")
                old = s.scalar(select(Contact).where(Contact.participant_id == p.id))
                if old is None:
                    s.add(Contact(participant_id=p.id, contact=text, created_at=now()))
                else:
                    old.contact = text

        await db(save)
        return done(request, token)

    @app.get("/s/{token}/audio/{which}")
    async def audio(token: str, which: str) -> Any:
        check_token(token)
        return await db(lambda: audio_response(token, which))

    def audio_response(token: str, which: str) -> Any:
        with store.read_conn() as c:
            if which == "sample":
                if c.execute(_PARTICIPANT, {"token": token}).first() is None:
                    raise HTTPException(404, "unknown session link")
                clip_id = sample_id
            elif re.fullmatch(r"[0-9]{1,5}", which):
                clip_id = c.execute(_CLIP_AT, {"token": token, "pos": int(which)}).scalar()
                if clip_id is None and c.execute(
                        _PARTICIPANT, {"token": token}).first() is None:
                    raise HTTPException(404, "unknown session link")
            else:
                if c.execute(_PARTICIPANT, {"token": token}).first() is None:
                    raise HTTPException(404, "unknown session link")
                clip_id = None
        if clip_id is None:
            raise HTTPException(404, "no such clip in this session")
        clip = clip_by_id[clip_id]
        path = (root / clip.path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, "audio file missing")
        media = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg",
                 ".ogg": "audio/ogg"}.get(path.suffix.lower(), "application/octet-stream")
        return FileResponse(path, media_type=media,
                            headers={"cache-control": "private, max-age=3600"})

    # ------------------------------------------------------------------ admin

    def require_admin(request: Request, form: dict[str, str] | None = None) -> None:
        if admin_token is None:
            raise HTTPException(404, "the admin page is disabled (no admin token set)")
        given = request.headers.get("authorization", "")
        given = given[7:] if given.lower().startswith("bearer ") else ""
        given = given or request.query_params.get("token", "")
        given = given or (form or {}).get("token", "")
        if not given:
            raise HTTPException(401, "admin token required",
                                headers={"www-authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    def admin_csrf() -> str:
        assert admin_token is not None
        return hmac.new(admin_token.encode(), b"emoconvey-admin-csrf",
                        hashlib.sha256).hexdigest()

    @app.post("/admin/release")
    async def admin_release(request: Request) -> Any:
        """Let the next browser that presents a platform ID take over its session."""
        form = await read_form(request)
        require_admin(request, form)
        if not hmac.compare_digest(form.get("csrf", "").encode(), admin_csrf().encode()):
            raise HTTPException(403, "invalid or missing CSRF token; reload the admin page")
        pid = (form.get("pid") or "").strip()[:128]
        if not pid:
            raise HTTPException(422, "field 'pid' is required")

        def release() -> int:
            with store.write() as s:
                return s.execute(update(Participant).where(Participant.platform_pid == pid)
                                 .values(resume_hash=RELEASED)).rowcount

        n = await db(release)
        if n == 0:
            raise HTTPException(404, f"no session has the platform ID {pid!r}")
        log.info("admin released platform ID %r (%d session(s))", pid, n)
        if wants_json(request):
            return JSONResponse({"ok": True, "released": n},
                                headers={"cache-control": "no-store"})
        back = f"{base(request)}/admin"
        if request.query_params.get("token") or form.get("token"):
            back += "?token=" + quote(admin_token or "")
        html = env.get_template("admin_released.html").render(
            cfg=cfg, base=base(request), pid=pid, n=n, back=back)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    def status() -> dict[str, Any]:
        from emoconvey.survey.admin import progress

        return progress(study)

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request) -> Any:
        require_admin(request)
        html = env.get_template("admin.html").render(cfg=cfg, base=base(request), s=status(),
                                                     admin_csrf=admin_csrf(),
                                                     query_token=request.query_params.get(
                                                         "token"))
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    @app.get("/admin/status.json")
    def admin_json(request: Request) -> Any:
        require_admin(request)
        return JSONResponse(status(), headers={"cache-control": "no-store"})

    return app


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)
