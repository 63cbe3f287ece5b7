"""Prometheus metrics of an optimizer worker, served as text at `GET /metrics` on `optimizer_metrics_port`.

- `greenlane_plan_requests_total`: plan-request messages taken off the topic (redeliveries and bad ones included)
- `greenlane_plan_requests_handled_total{outcome}`: what became of each: `made` (a plan stored), `stored_before`
  (a redelivered request whose plan was already stored), `superseded` (a newer request for the same district came
  in the same poll and is planned instead), `failed` (planning failed: dead-lettered with the reason) and `bad`
  (not a plan request: dead-lettered)
- `greenlane_plan_dead_letters_total{field}`: requests sent to the dead-letter topic, by the field their reason names
- `greenlane_plan_solve_seconds{district}`: histogram of the time to allocate and route a district's plan, per try
- `greenlane_plan_retries_total{reason}`: `database` (PostGIS unreachable), `reservations` (depot stock taken by
  another district meanwhile: planned again)
- `greenlane_consumer_lag{group,topic}` and its read time: the optimizer group's backlog on plan-requests
  (services/lag_gauge.py)
- `process_*`: the worker's CPU time, memory and open files

Each worker counts its own: scrape every worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, start_http_server

from .lag_gauge import LagGauge

log = logging.getLogger("greenlane.optimizer")
SOLVE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


class PlanMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter("greenlane_plan_requests_total", "Plan-request messages taken off the topic",
                                registry=self.registry)
        self.handled = Counter("greenlane_plan_requests_handled_total", "What became of each plan request", ["outcome"],
                               registry=self.registry)
        self.dead_letters = Counter("greenlane_plan_dead_letters_total", "Plan requests sent to the dead-letter topic",
                                    ["field"], registry=self.registry)
        self.solve = Histogram("greenlane_plan_solve_seconds", "Seconds to allocate and route a district's plan",
                               ["district"], registry=self.registry, buckets=SOLVE_BUCKETS)
        self.retries = Counter("greenlane_plan_retries_total", "Plans tried again", ["reason"], registry=self.registry)
        self.lag: LagGauge | None = None

    def serve(self, port: int, group: str, read_lag: Callable[[], dict[str, int]]) -> None:
        """Serve /metrics on `port` (all interfaces, as faust's web server does) and read the group's lag in a
        thread. A port in use (a second worker on the same host) leaves this worker without a page, not down."""
        try:
            start_http_server(port, registry=self.registry)
        except OSError as exc:
            log.warning("metrics not served: port %d: %s", port, exc)
            return
        self.lag = LagGauge(self.registry, group, read_lag).start()
        log.info("metrics on :%d/metrics", port)

    def dead_lettered(self, field: str, outcome: str) -> None:
        self.dead_letters.labels(field).inc()
        self.handled.labels(outcome).inc()
