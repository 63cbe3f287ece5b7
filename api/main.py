"""The FastAPI application factory and the `greenlane api` entry point."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import text

from api import errors, unavailable
from api.deps import ContainerDep
from api.limits import MAX_JSON_BYTES, BodyLimit
from api.metrics import ApiMetrics
from api.ratelimit import Limits, RateLimits
from api.routes import alerts, coverage, dashboard, demand, field, plans, zones
from api.routes.sheets import router as sheets_router
from services.bootstrap import Container

if TYPE_CHECKING:
    from infra.settings import Settings


def create_app(container: Container, limits: Limits | None = None) -> FastAPI:
    """Build the app around a container (tests pass their own), with the default limits unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if "publisher" in container.__dict__:
            container.publisher.close()
        container.engine.dispose()

    app = FastAPI(title="Greenlane API", version="0.1.0", lifespan=lifespan,
                  description="Essential goods into locked-down zones: demand, coverage, plans and route sheets.")
    app.state.container = container
    app.state.limits = RateLimits(limits or Limits())
    errors.install(app)
    unavailable.install(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_JSON_BYTES, unlimited=("/api/v1/demand/csv",))
    ApiMetrics().install(app)
    app.include_router(demand.router)
    app.include_router(coverage.router)
    app.include_router(dashboard.router)
    app.include_router(sheets_router)
    app.include_router(zones.router)
    app.include_router(plans.router)
    app.include_router(field.router)
    app.include_router(alerts.router)

    @app.get("/health", tags=["health"])
    def health(c: ContainerDep) -> dict[str, str]:
        with c.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok"}

    return app


def main() -> None:
    """Serve the API with uvicorn on the configured host and port; uvicorn's own logs, the access log included,
    go through the structured, redacting logging of infra/logs.py (in every worker process too)."""
    import uvicorn

    from infra.settings import get_settings
    from services.bootstrap import bootstrap

    settings = get_settings()
    logging.getLogger("greenlane.api").info(  # the database URL's password is redacted by the log filter
        "serving on %s:%s (%d process(es)), %s environment, database %s, kafka %s", settings.api_host,
        settings.api_port, settings.api_workers, settings.environment, settings.database_url, settings.kafka_bootstrap)
    common: dict[str, Any] = {"host": settings.api_host, "port": settings.api_port,
                              "log_level": settings.log_level.lower(), "log_config": _log_config(settings)}
    if settings.api_workers > 1:  # worker processes, each building its app from the same environment
        uvicorn.run("api.main:app_from_settings", factory=True, workers=settings.api_workers, **common)
        return
    uvicorn.run(create_app(bootstrap(settings, producer_name="api"), limits_of(settings)), **common)


def app_from_settings() -> FastAPI:
    """The app of one uvicorn worker process (GREENLANE_API_WORKERS > 1)."""
    from infra.settings import get_settings
    from services.bootstrap import bootstrap

    settings = get_settings()
    return create_app(bootstrap(settings, producer_name="api"), limits_of(settings))


def limits_of(settings: Settings) -> Limits:
    """The API's rate limits from the settings."""
    return Limits(auth_failures=settings.auth_failure_limit, auth_failure_window_s=settings.auth_failure_window_s,
                  submissions_per_minute=settings.submit_rate_per_minute, submission_burst=settings.submit_burst)


def _log_config(settings: Settings) -> dict[str, Any]:
    from infra.logs import logging_config, secrets_of

    return logging_config("api", settings.log_level, json=settings.log_format == "json",
                          secrets=secrets_of(settings))
