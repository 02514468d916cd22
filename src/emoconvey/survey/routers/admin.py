"""The operator's pages: progress (HTML, refreshed every 15 s, and JSON) and releasing a
platform ID that is bound to a browser the participant no longer has.

Every route needs the admin token (``Authorization: Bearer <token>`` or ``?token=``;
forms may carry it as a field); POSTs also need the admin CSRF token shown in the page.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import update

from emoconvey.survey.db import Participant
from emoconvey.survey.deps import (
    Ctx,
    SurveyContext,
    admin_form,
    base_url,
    require_admin,
    wants_json,
)
from emoconvey.survey.routers.participant import RELEASED

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin")

AdminForm = Annotated[dict[str, str], Depends(admin_form)]


def _status(ctx: SurveyContext) -> dict[str, Any]:
    from emoconvey.survey.admin import progress

    return progress(ctx.study)


@router.get("", response_class=HTMLResponse, dependencies=[Depends(require_admin)])
def admin_page(request: Request, ctx: Ctx) -> Any:
    from emoconvey.survey.admin import histogram_svg, timeline_svg

    s = _status(ctx)
    html = ctx.template("admin.html").render(
        cfg=ctx.cfg, base=base_url(request), s=s, admin_csrf=ctx.admin_csrf(),
        query_token=request.query_params.get("token"),
        timeline_svg=timeline_svg(s["timeline"]),
        histogram_svg=histogram_svg(s["histogram"], ctx.cfg.min_ratings))
    return HTMLResponse(html, headers={"cache-control": "no-store"})


@router.get("/status.json", dependencies=[Depends(require_admin)])
def admin_json(ctx: Ctx) -> Any:
    return JSONResponse(_status(ctx), headers={"cache-control": "no-store"})


@router.post("/release")
async def admin_release(request: Request, ctx: Ctx, form: AdminForm) -> Any:
    """Let the next browser that presents a platform ID take over its session."""
    pid = (form.get("pid") or "").strip()[:128]
    if not pid:
        raise HTTPException(422, "field 'pid' is required")

    def release() -> int:
        with ctx.store.write() as s:
            return s.execute(update(Participant).where(Participant.platform_pid == pid)
                             .values(resume_hash=RELEASED)).rowcount

    n = await ctx.db(release)
    if n == 0:
        raise HTTPException(404, f"no session has the platform ID {pid!r}")
    log.info("admin released platform ID %r (%d session(s))", pid, n)
    if wants_json(request):
        return JSONResponse({"ok": True, "released": n}, headers={"cache-control": "no-store"})
    back = f"{base_url(request)}/admin"
    if request.query_params.get("token") or form.get("token"):
        back += "?token=" + quote(ctx.admin_token or "")
    html = ctx.template("admin_released.html").render(
        cfg=ctx.cfg, base=base_url(request), pid=pid, n=n, back=back)
    return HTMLResponse(html, headers={"cache-control": "no-store"})
