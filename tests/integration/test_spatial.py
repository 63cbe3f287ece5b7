"""Spatial queries on the real PostGIS: zones containing points, sales points inside zones, versions, geodata."""

from datetime import UTC, datetime, time

from services.adapters.geodata import read_units
from services.domain.geo import MultiPolygon, Point
from services.domain.places import OpeningHours, SalesPoint, SalesPointKind
from services.domain.zones import RiskLevel, Zone, ZoneStatus

T0 = datetime(2021, 7, 9, tzinfo=UTC)
BEN_THANH_MARKET = Point(106.6981, 10.7725)  # Quận 1
THU_DUC_POINT = Point(106.7600, 10.7900)  # Thành phố Thủ Đức


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})


def test_loading_geodata_is_idempotent_and_complete(container, settings):
    units = read_units(settings.geodata_dir, ("79",))
    container.admin_units.upsert(units)
    container.admin_units.upsert(units)
    counts = container.admin_units.count_by_level()
    assert counts["district"] >= 22 and counts["commune"] >= 273 and counts["province"] >= 1


def test_district_polygons_locate_points(container):
    assert container.admin_units.district_containing(BEN_THANH_MARKET) == "760"
    assert container.admin_units.district_containing(THU_DUC_POINT) == "769"
    assert container.admin_units.district_containing(Point(105.0, 20.0)) is None


def test_the_zone_containing_a_point_follows_redraws_and_lifts(container, run_id):
    zones = container.zones
    zone = Zone(f"q1-{run_id}", "Khu phố Bến Thành", "760", square(106.6981, 10.7725, 0.003), RiskLevel.VERY_HIGH,
                valid_from=T0)
    zones.add(zone)
    assert zones.containing(BEN_THANH_MARKET).zone_id == zone.zone_id
    assert zones.containing(THU_DUC_POINT) is None or zones.containing(THU_DUC_POINT).zone_id != zone.zone_id

    narrowed = zone.redrawn(square(106.7050, 10.7800, 0.002), RiskLevel.HIGH, datetime(2021, 7, 20, tzinfo=UTC))
    zones.add(narrowed)
    found = zones.containing(BEN_THANH_MARKET)
    assert found is None or found.zone_id != zone.zone_id
    assert zones.containing(Point(106.7050, 10.7800)).zone_id == zone.zone_id
    # The history keeps what the zone looked like before the redraw.
    assert zones.containing(BEN_THANH_MARKET, at=datetime(2021, 7, 10, tzinfo=UTC)).zone_id == zone.zone_id
    assert [z.version for z in zones.history(zone.zone_id)] == [1, 2]

    zones.add(narrowed.lifted(datetime(2021, 8, 1, tzinfo=UTC)))
    assert zones.current(zone.zone_id).status is ZoneStatus.LIFTED
    assert zone.zone_id not in zones.active_ids()
    found = zones.containing(Point(106.7050, 10.7800))
    assert found is None or found.zone_id != zone.zone_id


def test_sales_points_inside_a_zone(container, run_id):
    zone = Zone(f"q3-{run_id}", "Phường 9, Quận 3", "770", square(106.6850, 10.7800, 0.004), RiskLevel.HIGH,
                valid_from=T0)
    container.zones.add(zone)
    hours = OpeningHours(time(6), time(18))
    inside = SalesPoint(f"sp-in-{run_id}", "Co.opmart", SalesPointKind.SUPERMARKET, Point(106.6860, 10.7810),
                        "27160", hours)
    mobile = SalesPoint(f"sp-mob-{run_id}", "Điểm bán lưu động", SalesPointKind.MOBILE, Point(106.6840, 10.7790),
                        "27160", hours)
    outside = SalesPoint(f"sp-out-{run_id}", "Bách Hóa Xanh", SalesPointKind.CONVENIENCE, Point(106.70, 10.80),
                         "26734", hours)
    container.places.add_sales_points([inside, mobile, outside])
    found = container.places.sales_points_in_zone(zone.zone_id)
    assert {p.point_id for p in found} == {inside.point_id, mobile.point_id}
    assert next(p for p in found if p.point_id == mobile.point_id).kind is SalesPointKind.MOBILE
