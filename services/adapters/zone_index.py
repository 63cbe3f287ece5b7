"""An in-memory spatial index of the active zones (shapely STRtree), kept current from the zone-change stream."""

from __future__ import annotations

from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from services.domain.demand import OUTSIDE_ZONES
from services.domain.events import Event, ZoneDeclared, ZoneLifted, ZoneRedrawn
from services.domain.ledger import Entry
from services.domain.zones import ZoneStatus


@dataclass
class IndexedZone:
    zone_id: str
    version: int
    status: ZoneStatus
    risk_level: int
    district_code: str
    geometry: BaseGeometry | None


class ZoneIndex:
    """Which active zone contains a point; the riskiest wins where zones overlap (as in PostGIS)."""

    def __init__(self) -> None:
        self.zones: dict[str, IndexedZone] = {}
        self._tree: STRtree | None = None
        self._active: list[IndexedZone] = []

    def apply(self, event: Event) -> bool:
        """Apply a zone change; True when the index changed. Older or repeated versions are ignored."""
        current = self.zones.get(getattr(event, "zone_id", ""))
        if isinstance(event, ZoneDeclared):
            if current is not None:
                return False
            self.zones[event.zone_id] = IndexedZone(event.zone_id, 1, ZoneStatus.ACTIVE, int(event.risk_level),
                                                    event.district_code, shape(event.boundary.to_geojson()))
        elif isinstance(event, ZoneRedrawn):
            if current is None or current.version >= event.version:  # never declared: refused in PostGIS too
                return False
            self.zones[event.zone_id] = IndexedZone(event.zone_id, event.version, ZoneStatus.ACTIVE,
                                                    int(event.risk_level), event.district_code,
                                                    shape(event.boundary.to_geojson()))
        elif isinstance(event, ZoneLifted):
            if current is None or current.version >= event.version:
                return False
            self.zones[event.zone_id] = IndexedZone(event.zone_id, event.version, ZoneStatus.LIFTED,
                                                    current.risk_level, event.district_code, None)
        else:
            return False
        self._tree = None
        return True

    def is_active(self, zone_id: str) -> bool:
        zone = self.zones.get(zone_id)
        return zone is not None and zone.status is ZoneStatus.ACTIVE

    def district_of(self, zone_id: str) -> str | None:
        """The district that declared the zone (it plans the zone's deliveries), None for a zone not seen."""
        zone = self.zones.get(zone_id)
        return zone.district_code if zone else None

    def version_of(self, zone_id: str) -> int:
        zone = self.zones.get(zone_id)
        return zone.version if zone else 0

    def containing(self, lon: float, lat: float) -> str | None:
        if self._tree is None:
            self._active = sorted((z for z in self.zones.values() if z.status is ZoneStatus.ACTIVE),
                                  key=lambda z: (-z.risk_level, z.zone_id))
            self._tree = STRtree([z.geometry for z in self._active])
        if not self._active:
            return None
        hits = self._tree.query(ShapelyPoint(lon, lat), predicate="within")
        return str(self._active[int(min(hits))].zone_id) if len(hits) else None

    def zone_of(self, entry: Entry) -> str:
        """The zone an entry falls in: its named zone while active, else where its location lies."""
        hint: str | None = getattr(entry, "zone_hint", None)
        if hint and self.is_active(hint):
            return hint
        if entry.lon is not None and entry.lat is not None:
            return self.containing(entry.lon, entry.lat) or OUTSIDE_ZONES
        return OUTSIDE_ZONES
