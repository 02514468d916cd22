"""Participant pages: consent, then ``/s/<token>`` showing the session's current step.

``GET /`` (information and consent) -> ``POST /start`` -> ``/s/<token>`` which always
shows the current step: demographics, sample clip, instructions, one clip per page,
completion code. Every answer is saved when given; reloading or returning with the same
link continues where the participant stopped, and submitting a page twice never creates
a second rating.

Returning through the platform ID (``?PROLIFIC_PID=``) is allowed only from the browser
that started the session: it holds an HttpOnly cookie whose SHA-256 is stored with the
session (``participants.resume_hash``). Any other browser presenting the ID gets a page
that reveals nothing of the session and says what to do; the operator can release the ID
(``POST /admin/release``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.exc import IntegrityError

from emoconvey.survey.assignment import assign_clips, assign_next_core, slot_rows, start_plan
from emoconvey.survey.deps import (
    CSRF_COOKIE,
    Ctx,
    Form,
    SessionToken,
    SurveyContext,
    base_url,
    check_csrf,
    int_field,
    redirect_to_session,
    start_csrf,
    wants_json,
)
from emoconvey.survey.storage import Participant, now
from emoconvey.survey.storage import access as db

__all__ = ["RELEASED", "RESUME_COOKIE", "resume_hash", "router"]

log = logging.getLogger(__name__)
router = APIRouter()

RESUME_COOKIE = "ec_resume"
"""HttpOnly cookie of the browser that started a session; its SHA-256 is stored with the
session, and only that browser may resume through the platform ID."""
RELEASED = "released"
"""``participants.resume_hash`` of a session the operator released."""
COOKIE_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
TOUCH_EVERY_S = 60.0
RT_RE = re.compile(r"[0-9]{1,9}")
TEMPLATES = {"demographics": "demographics.html", "sample": "sample.html",
             "instructions": "instructions.html", "rating": "rate.html",
             "done": "done.html", "ineligible": "ineligible.html"}

def resume_hash(secret: str) -> str:
    """SHA-256 (hex) of a resume-cookie value, as stored in ``participants.resume_hash``."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _resume_cookie(request: Request) -> str | None:
    value = request.cookies.get(RESUME_COOKIE)
    return value if value and COOKIE_RE.fullmatch(value) else None


def _set_resume_cookie(ctx: SurveyContext, resp: Any, value: str) -> None:
    # Lax, not Strict: participants come back from the recruitment platform through a
    # cross-site top-level link, which must carry the cookie
    resp.set_cookie(RESUME_COOKIE, value, httponly=True, samesite="lax",
                    secure=ctx.secure_cookies, max_age=30 * 24 * 3600)


def _owns(row: Any, cookie: str | None) -> bool:
    return bool(cookie and row.resume_hash and row.resume_hash != RELEASED
                and hmac.compare_digest(row.resume_hash.encode(),
                                        resume_hash(cookie).encode()))


def _pid_in_use_page(ctx: SurveyContext, request: Request) -> HTMLResponse:
    return ctx.render(request, "pid_in_use.html", status=409,
                      page_title=ctx.cfg.text("pid_in_use_title"))


def _progress(rows: list[Any], plan_json: str | None) -> tuple[int, int, int]:
    """Position of the first unanswered slot (0: none), answers given, slots."""
    nxt = next((r.position for r in rows if not r.answered), 0)
    total = len(json.loads(plan_json)) if plan_json is not None else len(rows)
    return nxt, sum(1 for r in rows if r.answered), total


def _participant(s: Any, token: str) -> Participant:
    p = db.find_participant(s, token)
    if p is None:
        raise HTTPException(404, "unknown session link")
    return p


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def consent(request: Request, ctx: Ctx) -> Any:
    return await ctx.db(lambda: _consent_page(ctx, request))


def _consent_page(ctx: SurveyContext, request: Request) -> Any:
    cfg = ctx.cfg
    pid = request.query_params.get(cfg.platform_param)
    if pid is not None:
        pid = pid.strip()[:128] or None
    cookie = _resume_cookie(request)
    if pid:
        with ctx.store.read() as s:
            row = db.pid_session(s, pid)
        if row is not None and _owns(row, cookie):
            return RedirectResponse(f"{base_url(request)}/s/{row.token}", status_code=303)
        if row is not None and row.resume_hash != RELEASED:
            return _pid_in_use_page(ctx, request)
        # no session yet, or released by the operator: consent (again); POST /start
        # creates the session or binds the released one to this browser
    csrf = request.cookies.get(CSRF_COOKIE)
    if not csrf or not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", csrf):
        csrf = secrets.token_urlsafe(24)
    resp = ctx.render(request, "consent.html", csrf=csrf, pid=pid,
                      page_title=cfg.text("consent_title"), step="consent")
    resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                    secure=ctx.secure_cookies, max_age=7 * 24 * 3600)
    if cookie is None:
        _set_resume_cookie(ctx, resp, secrets.token_urlsafe(32))
    return resp


@router.post("/start", dependencies=[Depends(start_csrf)])
async def start(request: Request, ctx: Ctx, form: Form) -> Any:
    if form.get("consent") != "yes":
        raise HTTPException(422, "field 'consent' is required to take part")
    pid = (form.get("pid") or "").strip()[:128] or None
    cookie = _resume_cookie(request) or secrets.token_urlsafe(32)

    def create() -> str | None:
        with ctx.store.write() as s:
            if pid:
                row = db.pid_session(s, pid)
                if row is not None and _owns(row, cookie):
                    return row.token
                if row is not None and row.resume_hash == RELEASED:
                    db.rebind_resume(s, row.id, resume_hash(cookie))
                    return row.token
                if row is not None:
                    return None
            t = now()
            token = secrets.token_urlsafe(32)
            db.add_participant(s, token=token, csrf=secrets.token_urlsafe(24),
                               platform_pid=pid, stage="demographics", created_at=t,
                               last_seen=t, resume_hash=resume_hash(cookie))
            return token

    token = await ctx.db(create)
    if token is None:
        if wants_json(request):
            raise HTTPException(409, "this participant ID has already started the study in "
                                     "another browser; contact the researcher")
        return _pid_in_use_page(ctx, request)
    resp = redirect_to_session(request, token, token=token)
    _set_resume_cookie(ctx, resp, cookie)
    return resp


@router.get("/s/{token}", response_class=HTMLResponse)
async def page(request: Request, ctx: Ctx, token: SessionToken) -> Any:
    return await ctx.db(lambda: _show_page(ctx, request, token))


def _show_page(ctx: SurveyContext, request: Request, token: str) -> Any:
    store = ctx.store
    with store.read_conn() as c:
        p = db.participant_row(c, token)
        if p is None:
            raise HTTPException(404, "unknown session link")
        view: dict[str, Any] = {"token": token, "csrf": p.csrf, "step": p.stage}
        stage = p.stage
        if stage == "rating":
            position, answered, total = _progress(slot_rows(c, p.id), p.plan_json)
            view.update(position=position, number=answered + 1, total=total,
                        page_title=ctx.cfg.text("progress", n=answered + 1, total=total))
        if stage == "done":
            view["contact_saved"] = db.has_contact(c, p.id)
    if now() - p.last_seen > TOUCH_EVERY_S and stage in (
            "rating", "instructions", "sample", "demographics"):
        with store.write_conn() as c:
            db.touch_participant(c, p.id, now())
    if stage == "done" and ctx.completion_url:
        view["completion_url"] = ctx.completion_url
    if stage == "ineligible" and ctx.screenout_url:
        view["screenout_url"] = ctx.screenout_url
    if stage == "ineligible":  # the correction form starts from the answers given
        view["answers"] = {"gender": p.gender or "", "age": str(p.age or ""),
                           "fluency": {True: "yes", False: "no"}.get(p.fluency, "")}
    title_keys = {"demographics": "demographics_title", "sample": "sample_title",
                  "instructions": "instructions_title", "done": "done_title",
                  "ineligible": "ineligible_title"}
    if stage in title_keys:
        view["page_title"] = ctx.cfg.text(title_keys[stage])
    return ctx.render(request, TEMPLATES[stage], **view)


@router.post("/s/{token}/demographics")
async def demographics(request: Request, ctx: Ctx, token: SessionToken, form: Form) -> Any:
    cfg = ctx.cfg
    genders = cfg.text("gender_options").split("|")

    def save() -> tuple[str, str, str] | None:  # (stage, csrf, problem) when incomplete
        with ctx.store.write() as s:
            p = _participant(s, token)
            check_csrf(p.csrf, form)
            if p.stage not in ("demographics", "ineligible"):
                return None
            gender = form.get("gender", "")
            problem = "" if gender in genders else f"field 'gender': expected one of {genders}"
            try:
                age = int_field(form, "age", 1, 120)
            except HTTPException as exc:
                problem = problem or str(exc.detail)
            if cfg.eligibility.require_fluency and form.get("fluency") not in ("yes", "no"):
                problem = problem or "field 'fluency': expected yes or no"
            if problem:
                return p.stage, p.csrf, problem
            fluent = form.get("fluency") == "yes"
            if p.stage == "ineligible":  # a correction: the first answers stay in the log
                log.warning("participant %d corrected their answers: gender %r -> %r, age %s "
                            "-> %s, fluency %s -> %s", p.id, p.gender, gender, p.age, age,
                            p.fluency, fluent)
            p.gender, p.age, p.fluency = gender, age, fluent
            p.last_seen = now()
            eligible = age >= cfg.eligibility.min_age and (
                fluent or not cfg.eligibility.require_fluency)
            if not eligible:
                p.stage = "ineligible"
            else:
                p.stage = "sample" if ctx.sample_id is not None else "instructions"
        return None

    invalid = await ctx.db(save)
    if invalid is not None:  # the form again, as filled in, with what is missing
        stage, csrf, problem = invalid
        if wants_json(request):
            raise HTTPException(422, problem)
        return ctx.render(request, TEMPLATES[stage], status=422, token=token, csrf=csrf,
                          step=stage, answers=form, form_error=problem,
                          page_title=cfg.text(f"{stage}_title"))
    return redirect_to_session(request, token)


@router.post("/s/{token}/sample")
async def sample(request: Request, ctx: Ctx, token: SessionToken, form: Form) -> Any:
    def save() -> None:  # the practice answer is never stored
        with ctx.store.write() as s:
            p = _participant(s, token)
            check_csrf(p.csrf, form)
            if p.stage == "sample":
                p.stage, p.last_seen = "instructions", now()

    await ctx.db(save)
    return redirect_to_session(request, token)


@router.post("/s/{token}/instructions")
async def instructions(request: Request, ctx: Ctx, token: SessionToken, form: Form) -> Any:
    cfg = ctx.cfg

    def save() -> None:
        with ctx.store.write(lock_assignment=True) as s:
            p = _participant(s, token)
            check_csrf(p.csrf, form)
            if p.stage != "instructions":
                return
            t = now()
            assign = assign_clips if cfg.assignment == "upfront" else start_plan
            assign(s, p, n=cfg.clips_per_participant, now=t, expiry_s=ctx.expiry_s,
                   rng=ctx.rng, repeats=cfg.quality.repeats, attention_ids=ctx.attention_ids)
            p.stage, p.last_seen = "rating", t

    await ctx.db(save)
    return redirect_to_session(request, token)


@router.post("/s/{token}/rate")
async def rate(request: Request, ctx: Ctx, token: SessionToken, form: Form) -> Any:
    cfg = ctx.cfg
    position = int_field(form, "position", 0, 10_000)
    values = {sc.name: int_field(form, sc.name, 1, sc.points) if sc.required
              or form.get(sc.name, "").strip() else None for sc in cfg.scales}
    played = form.get("played", "0") == "1"
    if cfg.require_full_play and not played:
        raise HTTPException(422, "the clip must be played to the end before answering")
    rt_raw = form.get("rt_ms", "").strip()
    rt = int(rt_raw) if RT_RE.fullmatch(rt_raw) else None

    def save() -> str:
        # serialised with assignment: saving an answer assigns the next clip; plain
        # Core statements, committed before the answer is sent
        with ctx.store.write_conn(lock_assignment=True) as c:
            p = db.participant_row(c, token)
            if p is None:
                raise HTTPException(404, "unknown session link")
            check_csrf(p.csrf, form)
            rows = slot_rows(c, p.id)
            a = next((r for r in rows if r.position == position), None)
            nxt, answered, total = _progress(rows, p.plan_json)
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
            db.insert_rating(
                c, participant_id=p.id, assignment_id=a.id, clip_id=a.clip_id, role=a.role,
                valence=values["valence"], arousal=values["arousal"],
                extra_json=json.dumps(extra, sort_keys=True), played_full=played,
                response_ms=rt, created_at=t)
            if answered + 1 >= total:
                db.finish_participant(c, p.id, t)
            else:
                db.touch_participant(c, p.id, t)
                if p.plan_json is not None:
                    done_rows = [r._replace(answered=True) if r.position == position
                                 else r for r in rows]
                    plan = [(str(role), ref) for role, ref in json.loads(p.plan_json)]
                    assign_next_core(c, p.id, plan, done_rows, now=t,
                                     expiry_s=ctx.expiry_s, rng=ctx.rng)
            return "saved"

    try:
        status = await ctx.db(save)
    except IntegrityError:  # a concurrent duplicate submission won the race
        status = "duplicate"
    return redirect_to_session(request, token, status=status)


@router.post("/s/{token}/contact")
async def contact(request: Request, ctx: Ctx, token: SessionToken, form: Form) -> Any:
    text = form.get("contact", "").strip()
    if not text:
        raise HTTPException(422, "field 'contact' is required")
    if len(text) > 200:
        raise HTTPException(422, "field 'contact': at most 200 characters")

    def save() -> None:
        with ctx.store.write() as s:
            p = _participant(s, token)
            check_csrf(p.csrf, form)
            if p.stage != "done" or not ctx.cfg.collect_contact:
                raise HTTPException(409, "contact details are taken after the study")
            db.save_contact(s, p.id, text, now())

    await ctx.db(save)
    return redirect_to_session(request, token)


