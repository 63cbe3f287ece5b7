"""The composition root: wires adapters to handlers from settings passed in by an entry point."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from .adapters.db import make_engine
from .adapters.geodata import read_catalogue
from .adapters.kafka import KafkaPublisher
from .adapters.projections import AreaDemandProjection
from .adapters.repositories import AdminRepository, PlaceRepository, ZoneRepository
from .domain.admin import AdminCatalogue
from .domain.geo import Point
from .domain.items import Catalogue, default_catalogue
from .topics import Topics

if TYPE_CHECKING:
    from infra.settings import Settings


@dataclass
class CachedZoneLookup:
    """Active zone ids cached for a few seconds, so the hot path rarely touches the database."""

    zones: ZoneRepository
    ttl_s: float = 5.0
    _ids: set[str] = field(default_factory=set)
    _loaded_at: float = -1e9

    def is_active(self, zone_id: str) -> bool:
        if zone_id not in self._ids or time.monotonic() - self._loaded_at > self.ttl_s:
            self._ids = self.zones.active_ids()
            self._loaded_at = time.monotonic()
        return zone_id in self._ids

    def containing(self, point: Point) -> str | None:
        zone = self.zones.containing(point)
        return zone.zone_id if zone else None


@dataclass
class Container:
    """Everything a process needs, built lazily so each entry point pays only for what it uses."""

    kafka_bootstrap: str
    database_url: str
    geodata_dir: Path
    topics: Topics
    producer_name: str = "greenlane"

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @cached_property
    def admin(self) -> AdminCatalogue:
        return read_catalogue(self.geodata_dir)

    @cached_property
    def items(self) -> Catalogue:
        return default_catalogue()

    @cached_property
    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(self.kafka_bootstrap, self.producer_name)

    @cached_property
    def zones(self) -> ZoneRepository:
        return ZoneRepository(self.engine)

    @cached_property
    def zone_lookup(self) -> CachedZoneLookup:
        return CachedZoneLookup(self.zones)

    @cached_property
    def places(self) -> PlaceRepository:
        return PlaceRepository(self.engine)

    @cached_property
    def admin_units(self) -> AdminRepository:
        return AdminRepository(self.engine)

    @cached_property
    def area_demand(self) -> AreaDemandProjection:
        return AreaDemandProjection(self.engine)


def bootstrap(settings: Settings, producer_name: str = "greenlane") -> Container:
    """Build the container from the settings an entry point read."""
    return Container(kafka_bootstrap=settings.kafka_bootstrap, database_url=settings.database_url,
                     geodata_dir=settings.geodata_dir, topics=Topics.with_prefix(settings.topic_prefix),
                     producer_name=producer_name)
