"""The coordinators' dashboard: one HTML page and its script and styles, served from api/static/dashboard.

The page and its assets need no token (they hold no data); the page asks for one and sends it with every API call.
Everything it needs is bundled: the Content-Security-Policy lets it load and connect to this origin only, so a
browser refuses any external tile, font or script, should one ever slip in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboard"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",  # the page may be opened with ?token=
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["dashboard"])


def _file(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or path.parent != STATIC or not path.is_file():
        raise HTTPException(404, detail=f"no dashboard asset {name!r}")
    return FileResponse(path, media_type=content_type, headers=HEADERS)


@router.get("/dashboard", include_in_schema=False)
def dashboard() -> FileResponse:
    """The dashboard page (a map of zones by days of supply, alerts, routes and the roll-up)."""
    return _file("index.html")


@router.get("/dashboard/assets/{name}", include_in_schema=False)
def dashboard_asset(name: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]+\.[a-z]+$", max_length=80)]
                    ) -> FileResponse:
    """A script, style sheet or image of the dashboard."""
    return _file(name)
