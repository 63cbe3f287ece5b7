"""JSON responses for read routes: plain json.dumps, skipping FastAPI's jsonable_encoder (a roll-up of ~300 rows
with nested JSON costs ~5x less this way)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from typing import Any

from fastapi.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any) -> Response:
    return json_response_text(json_text(data))


def json_response_text(text: str) -> Response:
    return Response(text, media_type="application/json")
