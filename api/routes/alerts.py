"""Alerts: price alerts, and a live Server-Sent Events stream of shortage alerts opened and resolved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse

from api.auth import OfficialDep
from api.deps import ContainerDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
POLL_S = 1.0
KEEPALIVE_S = 15.0


@router.get("/prices")
def price_alerts(container: ContainerDep, principal: OfficialDep,
                 status: Literal["open", "resolved"] | None = None) -> list[dict[str, Any]]:
    """Price reports above the reference price by the configured margin, grouped by district and item."""
    return [a for a in container.views.price_alerts(status)
            if principal.may_see_district(a["district_code"], container.admin)]


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def alert_stream(request: Request, container: ContainerDep, principal: OfficialDep) -> StreamingResponse:
    """`event: shortage` for every open alert at once, then for each alert opened, changed or resolved.
    Browsers pass the token as `?token=` (EventSource cannot set headers)."""

    def visible(alert: dict[str, Any]) -> bool:
        return any(principal.may_see_district(d, container.admin) for d in alert["district_codes"])

    async def events() -> AsyncIterator[str]:
        since = datetime.now(UTC)
        for alert in await asyncio.to_thread(container.projections.open_shortage_alerts):
            if visible(alert):
                yield _sse("shortage", alert)
        quiet = 0.0
        while not await request.is_disconnected():
            changed = await asyncio.to_thread(container.views.shortage_alerts_since, since)
            for alert in changed:
                since = max(since, alert["updated_at"])
                if visible(alert):
                    yield _sse("shortage", alert)
            quiet = 0.0 if changed else quiet + POLL_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(jsonable_encoder(data), ensure_ascii=False)}\n\n"
