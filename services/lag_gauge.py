"""A consumer group's lag as Prometheus gauges, read in a background thread of its own every few seconds.

Both workers' metric pages show it (streams/metrics.py, services/plan_metrics.py):

- `greenlane_consumer_lag{group,topic}`: messages the group has not committed yet, per topic (0 when it keeps up)
- `greenlane_consumer_lag_read_timestamp_seconds{group}`: when the lag was last read; it stops moving while Kafka
  cannot be reached (the lag then keeps its last value, so alert on its age too)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge

log = logging.getLogger("greenlane.metrics")
READ_EVERY_S = 5.0


class LagGauge:
    """Reading the lag takes a Kafka round trip or three (~0.15 s, ~35 ms of CPU): never on an event loop."""

    def __init__(self, registry: CollectorRegistry, group: str, read: Callable[[], dict[str, int]],
                 every_s: float = READ_EVERY_S) -> None:
        self.group, self.read, self.every_s = group, read, every_s
        self.lag = Gauge("greenlane_consumer_lag", "Messages the consumer group has not committed yet",
                         ["group", "topic"], registry=registry)
        self.read_at = Gauge("greenlane_consumer_lag_read_timestamp_seconds", "When the consumer lag was last read",
                             ["group"], registry=registry)
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lag-{group}", daemon=True)

    def start(self) -> LagGauge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def refresh(self) -> None:
        """Read the lag once; on failure keep the last figures (their read time tells how old they are)."""
        try:
            lag = self.read()
        except Exception as exc:  # Kafka unreachable, group not yet known...: try again at the next turn
            log.warning("consumer lag of %s unavailable: %s", self.group, exc)
            return
        for topic, behind in lag.items():
            self.lag.labels(self.group, topic).set(behind)
        self.read_at.labels(self.group).set(time.time())

    def _run(self) -> None:
        while True:
            self.refresh()
            if self.stopping.wait(self.every_s):
                return
