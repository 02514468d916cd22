"""What every study's web application shares, whatever its protocol: the static files,
the favicon, the security middleware and error pages.

:func:`install_common` mounts them on an application. Errors are pages in the study's
language for people (``error.html``: the explanation for the status, and the technical
detail of our own 4xx answers below it); JSON clients and the admin routes get
``{"detail": ...}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from emoconvey.survey.deps import wants_json
from emoconvey.survey.middleware import (
    MAX_BODY_BYTES,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
)

__all__ = ["ROUTING_DETAILS", "RedactSecrets", "error_response", "install_common"]

HERE = Path(__file__).resolve().parent
ROUTING_DETAILS = {"Not Found", "Method Not Allowed"}
"""Details of the router's own answers: not shown (the explanation says it all)."""

SECRET_PARAM = re.compile(r"([?&](?:token|csrf)=)[^&\s\"]*")


class RedactSecrets(logging.Filter):
    """Replace the values of ``token=`` and ``csrf=`` query parameters in access-log
    records (``--access-log`` must not write the admin token to the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(SECRET_PARAM.sub(r"\1***", a) if isinstance(a, str)
                                else a for a in record.args)
        return True


Render = Callable[..., Any]
"""``render(request, template, status=..., **context) -> HTMLResponse``."""


def error_response(cfg: Any, render: Render, request: Request, status: int, detail: str,
                   headers: Any) -> Any:
    """The answer to an error: JSON for JSON clients and ``/admin``, else a page.

    Parameters
    ----------
    cfg
        The study config (``text(key)`` gives the texts in the study's language).
    render
        Renders a template with the study's page context.
    """
    if wants_json(request) or request.url.path.startswith("/admin"):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    key = {404: "error_404", 405: "error_405"}.get(status,
                                                   "error_5xx" if status >= 500 else "error_4xx")
    resp = render(request, "error.html", status=status, message=cfg.text(key),
                  detail=None if detail in ROUTING_DETAILS else detail,
                  page_title=cfg.text("error_title"), step=None)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def install_common(app: FastAPI, *, cfg: Callable[[], Any], render: Render) -> None:
    """Static files, favicon, security middleware and error pages on ``app`` (the 413 of
    an oversized body too); the admin ``token=`` is kept out of uvicorn's access log.

    Parameters
    ----------
    app : FastAPI
    cfg : callable
        Returns the study config (read when an error is answered).
    render : callable
        See :data:`Render`.
    """
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def body_error(scope: dict, status: int, detail: str) -> Any:
        return error_response(cfg(), render, Request(scope), status, detail, None)

    # the last added runs first: the security headers wrap the 413 answer too
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES, error=body_error)
    app.add_middleware(SecurityHeadersMiddleware)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                            headers={"cache-control": "max-age=86400"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        return error_response(cfg(), render, request, exc.status_code, str(exc.detail),
                              exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Any:
        return error_response(cfg(), render, request, 422, "invalid request", None)
