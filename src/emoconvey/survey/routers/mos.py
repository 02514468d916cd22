"""Routes of a MOS study (``protocol: musiceval``): invited raters' pages and admin.

Raters reach only their personal link ``/r/<token>`` (from ``survey invite``):

1. instructions;
2. a batch: one page per clip, the prompt text above the player (replay allowed), MI
   and TA on 5-point scales, both required; clips of one prompt follow one another;
3. "batch finished": a break, or the next batch; the link works over several visits;
4. "all done" when nothing is left for them.

Answers are taken in order and saved when given; a page submitted twice makes one
rating. ``/admin`` (admin token) shows the progress: ratings per clip, complete clips and
ratings per system, open batches, and raters who failed a quality probe
(``?format=json`` or ``Accept: application/json`` for JSON).

The study (:class:`~emoconvey.survey.protocols.musiceval.MosStudy`), the page renderer
(:class:`~emoconvey.survey.mos_app.MosPages`) and the admin token live in
``app.state.mos``, ``app.state.mos_pages`` and ``app.state.mos_admin_token`` (set by
:func:`emoconvey.survey.mos_app.create_mos_app`). POSTs from another origin are refused
(403); errors are pages in the study's language.
"""

from __future__ import annotations

import hmac
import re
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from emoconvey.errors import EmoconveyError
from emoconvey.survey.admin import histogram_svg
from emoconvey.survey.deps import base_url, check_origin
from emoconvey.survey.protocols.musiceval import MosStudy

__all__ = ["router"]

router = APIRouter()
TOUCH_EVERY_S = 30.0
"""A page view refreshes the rater's last visit (which keeps an open batch from expiring)
at most this often; answers and new batches refresh it in their own transaction."""
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _study(request: Request) -> MosStudy:
    return request.app.state.mos


def _render(request: Request, step: str | None = None, **ctx: Any) -> HTMLResponse:
    return request.app.state.mos_pages.render(request, "mos_page.html", step=step, **ctx)


def _rater(request: Request, token: str) -> dict[str, Any]:
    if not TOKEN_RE.match(token):
        raise HTTPException(404, "unknown link")
    r = _study(request).rater(token)
    if r is None:
        raise HTTPException(404, "unknown link")
    return r


async def _form(request: Request, r: dict[str, Any]) -> dict[str, str]:
    check_origin(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not hmac.compare_digest(form.get("csrf", "").encode(), r["csrf"].encode()):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page")
    return form


def _back(request: Request, token: str) -> RedirectResponse:
    return RedirectResponse(f"{base_url(request)}/r/{token}", status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(request: Request) -> Any:
    return _render(request, kind="index")


@router.get("/r/{token}", response_class=HTMLResponse)
def show(request: Request, token: str) -> Any:
    study = _study(request)
    r = _rater(request, token)
    if time.time() - float(r["last_seen"] or 0) > TOUCH_EVERY_S:
        study.touch(token)
    ctx: dict[str, Any] = {"token": token, "csrf": r["csrf"]}
    if r["stage"] == "instructions":
        return _render(request, "instructions", kind="instructions", **ctx)
    item, batch_id, pos, answered, batch_no = study.rater_view(r["name"])
    if item is None:
        if r["stage"] == "done":
            return _render(request, "done", kind="done", **ctx)
        return _render(request, "rating", kind="batch_done", **ctx)
    return _render(
        request,
        "rating",
        kind="rate",
        batch_id=batch_id,
        position=pos,
        number=answered + 1,
        total=study.batch_size_of(batch_id),
        batch_no=batch_no,
        prompt=study.prompt_text.get(item.prompt_id),
        **ctx,
    )


@router.post("/r/{token}/start")
async def start(request: Request, token: str) -> Any:
    study = _study(request)
    r = await run_in_threadpool(_rater, request, token)
    await _form(request, r)
    # database work off the event loop; the rater's stage and last visit are updated in
    # the transaction that starts the batch
    await run_in_threadpool(study.start_batch, r["name"])
    return _back(request, token)


@router.post("/r/{token}/rate")
async def rate(request: Request, token: str) -> Any:
    study = _study(request)
    r = await run_in_threadpool(_rater, request, token)
    form = await _form(request, r)
    values = {}
    for name, lo, hi in (("batch", 1, 10**9), ("position", 0, 10**6), ("MI", 1, 5), ("TA", 1, 5)):
        raw = form.get(name, "")
        if not re.fullmatch(r"[0-9]{1,10}", raw) or not lo <= int(raw) <= hi:
            raise HTTPException(422, f"field {name!r}: expected an integer {lo}-{hi}")
        values[name] = int(raw)
    if study.config.require_full_play and form.get("played") != "1":
        raise HTTPException(422, "the clip must be played to the end before answering")
    try:
        await run_in_threadpool(study.answer, r["name"], values["batch"], values["position"],
                                values["MI"], values["TA"])
    except EmoconveyError as exc:
        raise HTTPException(409, str(exc)) from None
    return _back(request, token)


@router.get("/r/{token}/audio/{batch_id}/{position}")
def audio(request: Request, token: str, batch_id: int, position: int) -> Any:
    study = _study(request)
    r = _rater(request, token)
    clip_id = study.clip_at(r["name"], batch_id, position)
    if clip_id is None:
        raise HTTPException(404, "no such clip in this session")
    root = study.clips_root.resolve()
    path = (root / study.path_of[clip_id]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "audio file missing")
    return FileResponse(path, headers={"cache-control": "private, max-age=3600"})


@router.get("/admin")
def admin(request: Request) -> Any:
    token = request.app.state.mos_admin_token
    if token is None:
        raise HTTPException(404, "the admin page is disabled (no admin token set)")
    given = request.headers.get("authorization", "").removeprefix("Bearer ")
    given = given or request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(403, "wrong or missing admin token")
    status = _study(request).progress()
    if request.query_params.get("format") == "json" or "application/json" in request.headers.get(
        "accept", ""
    ):
        return JSONResponse(status, headers={"cache-control": "no-store"})
    k = _study(request).config.ratings_per_clip
    hist = [[int(n), int(c)] for n, c in status["ratings_per_clip"].items()]
    return request.app.state.mos_pages.render(
        request, "mos_admin.html", s=status, k=k, query_token=given,
        histogram_svg=histogram_svg(hist, k), page_title="Admin")
