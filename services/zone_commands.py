"""Declaring, redrawing and lifting zones: the polygon is checked here, the change goes to Kafka as an event (the
streams worker records the new version in PostGIS and moves demand and stock to it)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import explain_validity

from .adapters.repositories import ZoneRepository
from .domain.errors import InvalidValue, UnknownReference
from .domain.events import Event, ZoneDeclared, ZoneLifted, ZoneRedrawn
from .domain.geo import MultiPolygon
from .domain.zones import RiskLevel, Zone, ZoneStatus
from .ports import EventPublisher
from .topics import Topics

ZONE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
TOLERANCE_DEG = 0.002  # ~200 m: a zone may follow a river or road just past the province line


class ZoneRules:
    """What a zone's boundary must be, wherever the zone comes from (the API, or Kafka straight)."""

    def __init__(self, boundaries: Callable[[], dict[str, MultiPolygon]], province_code: str) -> None:
        """`boundaries` loads the province's district polygons (once, on first use)."""
        self.boundaries, self.province_code = boundaries, province_code

    @cached_property
    def _districts(self) -> dict[str, BaseGeometry]:
        return {code: shape(boundary.to_geojson()) for code, boundary in self.boundaries().items()}

    @cached_property
    def _province(self) -> BaseGeometry:
        return unary_union(list(self._districts.values())).buffer(TOLERANCE_DEG)

    def check_boundary(self, geojson: dict[str, object]) -> tuple[MultiPolygon, str]:
        """The polygon as a MultiPolygon and the district holding most of it; InvalidValue saying what is wrong."""
        boundary = MultiPolygon.from_geojson(geojson)
        geometry = shape(boundary.to_geojson())
        if not geometry.is_empty and not geometry.is_valid:
            reason = explain_validity(geometry)
            if not reason.startswith("Self-intersection") and geometry.area == 0:
                raise InvalidValue("boundary", f"the polygon is empty (no area): {reason}")
            raise InvalidValue("boundary", f"the polygon is not valid: {reason}")
        if geometry.is_empty or geometry.area == 0:
            raise InvalidValue("boundary", "the polygon is empty (no area)")
        if not self._province.contains(geometry):
            raise InvalidValue("boundary", f"the polygon lies (partly) outside province {self.province_code}")
        district = max(self._districts, key=lambda code: self._districts[code].intersection(geometry).area)
        return boundary, district

    def check_change(self, change: Event) -> None:
        """A zone change read from Kafka meets the rules the API applies when it makes one (UnknownReference or
        InvalidValue otherwise): a district of the province, and a valid polygon with an area inside the province."""
        district = getattr(change, "district_code", "")
        if district not in self._districts:
            raise UnknownReference("district_code", district)
        boundary = getattr(change, "boundary", None)
        if boundary is not None:
            self.check_boundary(boundary.to_geojson())


class ZoneCommands:
    def __init__(self, rules: ZoneRules, zones: ZoneRepository, publisher: EventPublisher, topics: Topics) -> None:
        self.rules, self.zones, self.publisher, self.topics = rules, zones, publisher, topics

    def declare(self, name: str, geojson: dict[str, object], risk: RiskLevel, now: datetime,
                zone_id: str | None = None, allowed: Callable[[str], None] = lambda district: None) -> ZoneDeclared:
        if zone_id is not None and not ZONE_ID.match(zone_id):
            raise InvalidValue("zone_id", "lower-case letters, digits and dashes, 2 to 63 characters")
        zone_id = zone_id or f"z-{uuid.uuid4().hex[:12]}"
        if self.zones.current(zone_id) is not None:
            raise InvalidValue("zone_id", f"zone {zone_id} exists; redraw it instead")
        boundary, district = self.rules.check_boundary(geojson)
        allowed(district)
        event = ZoneDeclared(event_id=f"declare-{zone_id}", occurred_at=now, district_code=district,
                             zone_id=zone_id, name=name, boundary=boundary, risk_level=risk)
        self.publisher.publish(self.topics.zones, district, event)
        return event

    def redraw(self, zone_id: str, geojson: dict[str, object], risk: RiskLevel, now: datetime) -> ZoneRedrawn:
        current = self._active(zone_id)
        boundary, _ = self.rules.check_boundary(geojson)
        event = ZoneRedrawn(event_id=f"redraw-{zone_id}-{current.version + 1}", occurred_at=now,
                            district_code=current.district_code, zone_id=zone_id, version=current.version + 1,
                            boundary=boundary, risk_level=risk)
        self.publisher.publish(self.topics.zones, current.district_code, event)
        return event

    def lift(self, zone_id: str, now: datetime) -> ZoneLifted:
        current = self._active(zone_id)
        event = ZoneLifted(event_id=f"lift-{zone_id}-{current.version + 1}", occurred_at=now,
                           district_code=current.district_code, zone_id=zone_id, version=current.version + 1)
        self.publisher.publish(self.topics.zones, current.district_code, event)
        return event

    def district_of(self, zone_id: str) -> str:
        return self._active(zone_id).district_code

    def _active(self, zone_id: str) -> Zone:
        current = self.zones.current(zone_id)
        if current is None or current.status is not ZoneStatus.ACTIVE:
            raise UnknownReference("zone_id", zone_id)
        return current
