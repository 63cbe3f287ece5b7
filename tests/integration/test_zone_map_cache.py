"""The zones map (GeoJSON built by PostGIS) is kept between requests but never served stale: any write to the
zones or to their coverage rows shows in the very next read."""

import json
from datetime import UTC, datetime, timedelta

from services.adapters.views import Views
from services.domain.events import AreaCoverage
from services.domain.geo import MultiPolygon
from services.domain.zones import RiskLevel, Zone

NOW = datetime.now(UTC)


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = ((lon - half, lat - half), (lon + half, lat - half), (lon + half, lat + half), (lon - half, lat + half),
            (lon - half, lat - half))
    return MultiPolygon(((ring,),))


def feature(geojson: str, zone_id: str) -> dict | None:
    return next((f for f in json.loads(geojson)["features"] if f["id"] == zone_id), None)


def coverage(zone_id: str, households: int, at: datetime) -> AreaCoverage:
    return AreaCoverage(event_id=f"{zone_id}-{households}", occurred_at=at, level="zone", area_id=zone_id,
                        district_code="760", zone_id=zone_id, households=households, people=3 * households,
                        vulnerable={}, need={"rice": 10.0}, stock={"rice": 20.0}, on_way={},
                        days_of_supply={"rice": 2.0}, last_report_at=at, max_event_at=at)


def test_the_zones_map_is_reused_until_a_zone_or_its_coverage_changes(container, run_id):
    views = Views(container.engine, "79")
    zone = Zone(f"z-cache-{run_id}", "Hẻm 12", "760", square(106.700, 10.776, 0.0005), RiskLevel.HIGH,
                valid_from=NOW)
    before = views.zones_geojson()
    assert feature(before, zone.zone_id) is None
    assert views.zones_geojson() is before  # nothing changed: the same string, not rebuilt

    container.zones.add(zone)
    declared = feature(views.zones_geojson(), zone.zone_id)
    assert declared is not None and declared["properties"]["households"] == 0
    assert feature(views.zones_geojson("760"), zone.zone_id) is not None
    assert feature(views.zones_geojson("770"), zone.zone_id) is None

    container.projections.coverage([coverage(zone.zone_id, 40, NOW)])
    assert feature(views.zones_geojson(), zone.zone_id)["properties"]["households"] == 40
    container.projections.coverage([coverage(zone.zone_id, 55, NOW + timedelta(seconds=1))])
    assert feature(views.zones_geojson("760"), zone.zone_id)["properties"]["households"] == 55

    container.zones.add(zone.lifted(NOW + timedelta(seconds=2)))
    assert feature(views.zones_geojson(), zone.zone_id) is None
    assert feature(views.zones_geojson("760"), zone.zone_id) is None
