"""The web server of a MOS study (``protocol: musiceval``; see :mod:`.mos_study`).

Raters reach only their personal link ``/r/<token>`` (from ``survey invite``):

1. instructions;
2. a batch: one page per clip, the prompt text above the player (replay allowed), MI
   and TA on 5-point scales, both required; clips of one prompt follow one another;
3. "batch finished": a break, or the next batch; the link works over several visits;
4. "all done" when nothing is left for them.

Answers are taken in order and saved when given; a page submitted twice makes one
rating. ``/admin`` (admin token, as for AImoclips studies) shows progress as JSON.
"""

from __future__ import annotations

import hmac
import logging
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from emoconvey.errors import EmoconveyError
from emoconvey.survey.mos_study import MosStudy

__all__ = ["create_mos_app"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class _Cfg:
    """What base.html needs (language, title) plus the MOS config."""

    def __init__(self, study: MosStudy) -> None:
        self.language = "en"
        self.title = study.config.title
        self.scales = study.config.scales
        self.instructions = study.config.instructions


def create_mos_app(study: MosStudy, *, admin_token: str | None) -> FastAPI:
    """Build the FastAPI application of a MOS study."""
    cfg = _Cfg(study)
    root = study.clips_root.resolve()
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"])
    )
    page = env.get_template("mos_page.html")
    app = FastAPI(title=cfg.title, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def render(request: Request, **ctx: Any) -> HTMLResponse:
        html = page.render(cfg=cfg, base=base(request), page_title=cfg.title, **ctx)
        return HTMLResponse(
            html,
            headers={
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer",
            },
        )

    def rater(token: str) -> dict[str, Any]:
        if not TOKEN_RE.match(token):
            raise HTTPException(404, "unknown link")
        r = study.rater(token)
        if r is None:
            raise HTTPException(404, "unknown link")
        return r

    async def form_of(request: Request, r: dict[str, Any]) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not hmac.compare_digest(form.get("csrf", "").encode(), r["csrf"].encode()):
            raise HTTPException(403, "invalid or missing CSRF token; reload the page")
        return form

    def back(request: Request, token: str) -> RedirectResponse:
        return RedirectResponse(f"{base(request)}/r/{token}", status_code=303)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def index() -> Any:
        return HTMLResponse("<p>This study is by invitation: use your personal link.</p>")

    @app.get("/r/{token}", response_class=HTMLResponse)
    def show(request: Request, token: str) -> Any:
        r = rater(token)
        study.touch(token)
        ctx: dict[str, Any] = {"token": token, "csrf": r["csrf"]}
        if r["stage"] == "instructions":
            return render(request, kind="instructions", **ctx)
        batch = study.current_batch(r["name"])
        if batch is None:
            if r["stage"] == "done":
                return render(request, kind="done", **ctx)
            return render(request, kind="batch_done", **ctx)
        pos = min(i for i in range(len(batch.items)) if i not in batch.answered)
        item = batch.items[pos]
        mine = [b for b in study.assigner.batches.values() if b.rater == r["name"]]
        return render(
            request,
            kind="rate",
            batch_id=batch.batch_id,
            position=pos,
            number=len(batch.answered) + 1,
            total=len(batch.items),
            batch_no=len(mine),
            prompt=study.prompt_text.get(item.prompt_id),
            **ctx,
        )

    @app.post("/r/{token}/start")
    async def start(request: Request, token: str) -> Any:
        r = rater(token)
        await form_of(request, r)
        batch = study.start_batch(r["name"])
        study.touch(token, stage="rating" if batch is not None else "done")
        return back(request, token)

    @app.post("/r/{token}/rate")
    async def rate(request: Request, token: str) -> Any:
        r = rater(token)
        form = await form_of(request, r)
        values = {}
        for name, lo, hi in (
            ("batch", 1, 10**9),
            ("position", 0, 10**6),
            ("MI", 1, 5),
            ("TA", 1, 5),
        ):
            raw = form.get(name, "")
            if not re.fullmatch(r"[0-9]{1,10}", raw) or not lo <= int(raw) <= hi:
                raise HTTPException(422, f"field {name!r}: expected an integer {lo}-{hi}")
            values[name] = int(raw)
        try:
            study.answer(r["name"], values["batch"], values["position"], values["MI"], values["TA"])
        except EmoconveyError as exc:
            raise HTTPException(409, str(exc)) from None
        study.touch(token)
        return back(request, token)

    @app.get("/r/{token}/audio/{batch_id}/{position}")
    def audio(token: str, batch_id: int, position: int) -> Any:
        r = rater(token)
        batch = study.assigner.batches.get(batch_id)
        if batch is None or batch.rater != r["name"] or not 0 <= position < len(batch.items):
            raise HTTPException(404, "no such clip in this session")
        path = (root / study.path_of[batch.items[position].clip_id]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, "audio file missing")
        return FileResponse(path, headers={"cache-control": "private, max-age=3600"})

    @app.get("/admin")
    def admin(request: Request) -> Any:
        if admin_token is None:
            raise HTTPException(404, "the admin page is disabled (no admin token set)")
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        given = given or request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong or missing admin token")
        return JSONResponse(study.progress(), headers={"cache-control": "no-store"})

    return app
