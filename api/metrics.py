"""Prometheus metrics of the API (`GET /metrics`): requests answered by method, route and status, and how long
they took. Each API process counts its own (with `GREENLANE_API_WORKERS` > 1, scrape each worker or run one)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("greenlane_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("greenlane_http_request_seconds", "Seconds to answer an HTTP request",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0))

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            started = time.perf_counter()
            response = await call_next(request)
            # The route's template (/api/v1/plans/{plan_id}), not the path: one series per route, not per id.
            route = getattr(request.scope.get("route"), "path", "unmatched")
            self.requests.labels(request.method, route, str(response.status_code)).inc()
            self.latency.labels(request.method, route).observe(time.perf_counter() - started)
            return response

        @app.get("/metrics", include_in_schema=False)
        def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
