"""Kafka topics: names, partition counts and what their messages are keyed by."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str  # what the message key holds
    purpose: str
    retention_ms: int = -1  # -1 keeps the record of what happened forever
    compacted: bool = False  # keep the last record of each key only (a table's changelog)


@dataclass(frozen=True)
class Topics:
    """Topic names, resolved once from the prefix in the settings."""

    demand: str
    stock: str
    zones: str
    deliveries: str
    prices: str
    produce: str
    places: str
    zone_parts: str
    coverage: str
    shortage_alerts: str
    price_alerts: str
    plan_requests: str
    dead_letter: str

    @classmethod
    def with_prefix(cls, prefix: str = "greenlane") -> Topics:
        return cls(**{f.name: f"{prefix}.{f.name.replace('_', '-')}" for f in fields(cls)})

    @property
    def district_inputs(self) -> tuple[str, ...]:
        """The event topics folded into the district ledger (co-partitioned by district code)."""
        return (self.demand, self.stock, self.deliveries, self.prices)

    @property
    def streams_inputs(self) -> tuple[str, ...]:
        """Every topic the streams workers consume (all but the dead letters): their consumer lag is the backlog."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "dead_letter")


_SPECS = {
    "demand": ("district code", "demand submitted by communes and districts (households, needs, relief bags)"),
    "stock": ("district code", "sales-point stock reports (snapshots or deltas) and open/paused status"),
    "zones": ("district code", "zones declared, redrawn and lifted (polygon, risk level, version)"),
    "deliveries": ("district code", "deliveries planned, confirmed or failed"),
    "prices": ("district code", "prices reported by market watchers"),
    "produce": ("district code", "farm produce offered from inside zones"),
    "places": ("district code", "sales points registered (the register stock reports are checked against)"),
    "zone_parts": ("zone id", "derived: each district's part of a zone's coverage"),
    "coverage": ("area id", "derived: coverage per zone, commune and district"),
    "shortage_alerts": ("zone id", "derived: shortage alerts opened and resolved"),
    "price_alerts": ("district code", "derived: price alerts per area and item"),
    "plan_requests": ("district code", "derived: requests to plan a district"),
    "dead_letter": ("source topic", "refused messages with the reason and the original bytes"),
}


def topic_specs(partitions: int, prefix: str = "greenlane") -> list[TopicSpec]:
    """Every topic the system uses; event topics share one partition count so districts co-partition."""
    topics = Topics.with_prefix(prefix)
    return [TopicSpec(getattr(topics, name), max(1, partitions // 2) if name == "dead_letter" else partitions,
                      key, purpose) for name, (key, purpose) in _SPECS.items()]
