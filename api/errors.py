"""Domain errors as HTTP 422 responses in FastAPI's own error shape, naming the field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.domain.access import Forbidden
from services.domain.errors import InvalidValue, UnknownReference


def _unprocessable(field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", *field.split(".")], "msg": message,
                                                              "type": kind}]})


def install(app: FastAPI) -> None:
    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": exc.message})

    @app.exception_handler(InvalidValue)
    async def invalid_value(_: Request, exc: InvalidValue) -> JSONResponse:
        return _unprocessable(exc.field, exc.message, "value_error")

    @app.exception_handler(UnknownReference)
    async def unknown_reference(_: Request, exc: UnknownReference) -> JSONResponse:
        return _unprocessable(exc.field, str(exc), "unknown_reference")
