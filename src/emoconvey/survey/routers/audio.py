"""Media of a study: a session's own clips, the sample clip and the study's logo.

Only the clips assigned to a session (and the sample clip) can be fetched with its
token; paths are resolved inside the clips folder and anything else is a 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from emoconvey.survey.deps import Ctx, SessionToken, SurveyContext
from emoconvey.survey.storage import access as db

__all__ = ["MEDIA_TYPES", "router"]

router = APIRouter()

MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg",
               ".ogg": "audio/ogg", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".svg": "image/svg+xml", ".webp": "image/webp"}

def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "file missing")
    return path


@router.get("/s/{token}/audio/{which}")
async def audio(ctx: Ctx, token: SessionToken, which: str) -> Any:
    return await ctx.db(lambda: _audio_response(ctx, token, which))


def _audio_response(ctx: SurveyContext, token: str, which: str) -> Any:
    with ctx.store.read_conn() as c:
        if re.fullmatch(r"[0-9]{1,5}", which):
            clip_id = db.clip_at(c, token, int(which))
            if clip_id is None and not db.session_exists(c, token):
                raise HTTPException(404, "unknown session link")
        else:
            if not db.session_exists(c, token):
                raise HTTPException(404, "unknown session link")
            clip_id = ctx.sample_id if which == "sample" else None
    if clip_id is None:
        raise HTTPException(404, "no such clip in this session")
    root = ctx.study.clips_root.resolve()
    path = _inside(root, ctx.clip_by_id[clip_id].path)
    media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media,
                        headers={"cache-control": "private, max-age=3600"})


@router.get("/logo")
def logo(ctx: Ctx) -> Any:
    """The study's logo (``logo`` in the config), if any."""
    if not ctx.cfg.logo:
        raise HTTPException(404, "this study has no logo")
    path = _inside(ctx.study.clips_root.resolve(), ctx.cfg.logo)
    media = MEDIA_TYPES.get(path.suffix.lower())
    if media is None or not media.startswith("image/"):
        raise HTTPException(404, "the logo is not an image file")
    return FileResponse(path, media_type=media, headers={"cache-control": "max-age=3600"})
