"""The FastAPI application factory and the `greenlane api` entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from api import errors
from api.deps import ContainerDep
from api.limits import MAX_JSON_BYTES, BodyLimit
from api.metrics import ApiMetrics
from api.routes import alerts, coverage, dashboard, demand, field, plans, zones
from api.routes.sheets import router as sheets_router
from services.bootstrap import Container


def create_app(container: Container) -> FastAPI:
    """Build the app around a container (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if "publisher" in container.__dict__:
            container.publisher.close()
        container.engine.dispose()

    app = FastAPI(title="Greenlane API", version="0.1.0", lifespan=lifespan,
                  description="Essential goods into locked-down zones: demand, coverage, plans and route sheets.")
    app.state.container = container
    errors.install(app)
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
    """Serve the API with uvicorn on the configured host and port."""
    import uvicorn

    from infra.settings import get_settings
    from services.bootstrap import bootstrap

    settings = get_settings()
    if settings.api_workers > 1:  # worker processes, each building its app from the same environment
        uvicorn.run("api.main:app_from_settings", factory=True, workers=settings.api_workers,
                    host=settings.api_host, port=settings.api_port, log_level=settings.log_level.lower())
        return
    uvicorn.run(create_app(bootstrap(settings, producer_name="api")), host=settings.api_host,
                port=settings.api_port, log_level=settings.log_level.lower())


def app_from_settings() -> FastAPI:
    """The app of one uvicorn worker process (GREENLANE_API_WORKERS > 1)."""
    from infra.settings import get_settings
    from services.bootstrap import bootstrap

    return create_app(bootstrap(get_settings(), producer_name="api"))
