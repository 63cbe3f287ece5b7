"""503 with Retry-After when PostGIS or Kafka is unreachable, instead of a 500: the caller retries, and a retry
with the same Idempotency-Key (or event_id) counts once however much of the first attempt got through."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kafka.errors import KafkaError
from sqlalchemy.exc import OperationalError

log = logging.getLogger("greenlane.api")
RETRY_AFTER_S = 5


def install(app: FastAPI) -> None:
    @app.exception_handler(OperationalError)  # psycopg's: connection refused, lost or timed out
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        return _unavailable(request, "the database", exc)

    @app.exception_handler(KafkaError)
    async def event_log_unavailable(request: Request, exc: KafkaError) -> JSONResponse:
        return _unavailable(request, "the event log (Kafka)", exc)


def _unavailable(request: Request, what: str, exc: Exception) -> JSONResponse:
    log.warning("%s %s: %s is unavailable: %s", request.method, request.url.path, what, type(exc).__name__)
    return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                        content={"detail": f"{what} is unavailable for the moment; retry in a few seconds (with the "
                                           "same Idempotency-Key or event_id, a retry counts once)"})
