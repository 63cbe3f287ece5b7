"""Domain errors as HTTP 422 responses in FastAPI's own error shape, naming the field."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.domain.access import Forbidden
from services.domain.errors import InvalidValue, UnknownReference


def _unprocessable(field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", *field.split(".")], "msg": message,
                                                              "type": kind}]})


class _AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a 422 echoes the input, which may hold a lone surrogate ("\\ud800" in the request's
    JSON) that UTF-8 cannot encode; FastAPI's own handler then failed with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _AsciiJSONResponse(status_code=422, content={"detail": jsonable_encoder(exc.errors())})

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": exc.message})

    @app.exception_handler(InvalidValue)
    async def invalid_value(_: Request, exc: InvalidValue) -> JSONResponse:
        return _unprocessable(exc.field, exc.message, "value_error")

    @app.exception_handler(UnknownReference)
    async def unknown_reference(_: Request, exc: UnknownReference) -> JSONResponse:
        return _unprocessable(exc.field, str(exc), "unknown_reference")
