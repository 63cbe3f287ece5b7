from datetime import UTC, datetime, time

import pytest

from services.domain.errors import DomainError, InvalidValue
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, OpeningHours, SalesPointKind
from services.domain.zones import RiskLevel, Zone, ZoneStatus

SQUARE = {"type": "Polygon", "coordinates": [[[106.70, 10.77], [106.71, 10.77], [106.71, 10.78], [106.70, 10.78],
                                              [106.70, 10.77]]]}
T0 = datetime(2021, 7, 9, 0, 0, tzinfo=UTC)


def test_zone_redraw_and_lift_make_new_versions():
    zone = Zone("z1", "Phường Bến Nghé", "760", MultiPolygon.from_geojson(SQUARE), RiskLevel.VERY_HIGH,
                valid_from=T0)
    assert zone.closed_to_vehicles and zone.risk_level.colour == "red"
    narrowed = zone.redrawn(zone.boundary, RiskLevel.HIGH, T0)
    assert (narrowed.version, narrowed.risk_level, narrowed.active) == (2, RiskLevel.HIGH, True)
    lifted = narrowed.lifted(T0)
    assert (lifted.version, lifted.status) == (3, ZoneStatus.LIFTED)
    with pytest.raises(DomainError):
        lifted.redrawn(zone.boundary, RiskLevel.LOW, T0)
    with pytest.raises(DomainError):
        lifted.lifted(T0)


@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": [1, 2]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
    {"type": "Polygon", "coordinates": "nope"},
    {"type": "MultiPolygon", "coordinates": []},
])
def test_bad_polygons_are_refused(geometry):
    with pytest.raises(InvalidValue) as err:
        MultiPolygon.from_geojson(geometry)
    assert err.value.field == "polygon"


def test_geojson_round_trip():
    boundary = MultiPolygon.from_geojson(SQUARE)
    assert MultiPolygon.from_geojson(boundary.to_geojson()) == boundary


def test_points_and_places_check_their_values():
    with pytest.raises(InvalidValue):
        Point(200, 10)
    with pytest.raises(InvalidValue):
        OpeningHours(time(18), time(6))
    with pytest.raises(InvalidValue):
        Checkpoint("c1", "z1", "Chốt 1", Point(106.7, 10.7), handover_minutes=-5)
    assert not SalesPointKind.MOBILE.fixed and SalesPointKind.MARKET_STALL.fixed


def test_vehicle_capacity_in_two_dimensions():
    truck = Vehicle("v1", "51C-123.45", 1500, 8.0, "d1", time(5), time(18), green_lane_permit=True)
    assert truck.can_carry(1500, 8.0)
    assert not truck.can_carry(1400, 8.5)
    with pytest.raises(InvalidValue) as err:
        Vehicle("v2", "51C-1", 0, 8.0, "d1", time(5), time(18))
    assert err.value.field == "capacity_kg"
