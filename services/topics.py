"""Kafka topics: names, partition counts and what their messages are keyed by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str  # what the message key holds
    purpose: str
    retention_ms: int = -1  # -1 keeps the record of what happened forever


def topic_specs(partitions: int, prefix: str = "greenlane") -> list[TopicSpec]:
    """Every topic the system uses; event topics share one partition count so districts co-partition."""
    return [
        TopicSpec(f"{prefix}.demand", partitions, "district code", "demand submitted by communes and districts"),
        TopicSpec(f"{prefix}.area-demand", partitions, "district code",
                  "derived: live demand totals per zone and commune"),
        TopicSpec(f"{prefix}.dead-letter", max(1, partitions // 2), "source topic",
                  "messages that could not be processed, with the reason and the original bytes"),
    ]


@dataclass(frozen=True)
class Topics:
    """Topic names, resolved once from settings."""

    demand: str
    area_demand: str
    dead_letter: str

    @classmethod
    def with_prefix(cls, prefix: str = "greenlane") -> Topics:
        return cls(demand=f"{prefix}.demand", area_demand=f"{prefix}.area-demand",
                   dead_letter=f"{prefix}.dead-letter")
