"""The rules a zone's boundary must meet, for zones made through the API and zones read from Kafka alike."""

from datetime import UTC, datetime

import pytest

from services.domain.errors import InvalidValue, UnknownReference
from services.domain.events import ZoneDeclared, ZoneLifted
from services.domain.geo import MultiPolygon
from services.domain.zones import RiskLevel
from services.zone_commands import ZoneRules
from tests.unit.builders import square

RULES = ZoneRules(lambda: {"760": square(106.70, 10.78, 0.01), "770": square(106.72, 10.78, 0.01)}, "79")
NOW = datetime(2021, 8, 23, tzinfo=UTC)
BOW_TIE = {"type": "Polygon", "coordinates": [[[106.70, 10.78], [106.705, 10.785], [106.705, 10.78],
                                               [106.70, 10.785], [106.70, 10.78]]]}


def declared(district: str, boundary: dict) -> ZoneDeclared:
    return ZoneDeclared(event_id="e", occurred_at=NOW, district_code=district, zone_id="z-1", name="z",
                        boundary=MultiPolygon.from_geojson(boundary), risk_level=RiskLevel.HIGH)


def test_a_zone_gets_the_district_holding_most_of_it():
    _, district = RULES.check_boundary(square(106.718, 10.78, 0.003).to_geojson())
    assert district == "770"


@pytest.mark.parametrize("boundary, says", [
    (BOW_TIE, "not valid: Self-intersection"),
    (square(105.85, 21.03, 0.002).to_geojson(), "outside province 79"),
])
def test_a_boundary_crossing_itself_or_leaving_the_province_is_refused(boundary, says):
    with pytest.raises(InvalidValue, match=says) as refused:
        RULES.check_boundary(boundary)
    assert refused.value.field == "boundary"
    with pytest.raises(InvalidValue, match=says):  # read from Kafka: the same rule
        RULES.check_change(declared("760", boundary))


def test_a_change_from_kafka_names_a_district_of_the_province():
    RULES.check_change(declared("760", square(106.70, 10.78, 0.002).to_geojson()))
    with pytest.raises(UnknownReference) as unknown:
        RULES.check_change(declared("001", square(106.70, 10.78, 0.002).to_geojson()))
    assert unknown.value.field == "district_code"
    RULES.check_change(ZoneLifted(event_id="l", occurred_at=NOW, district_code="770", zone_id="z-1", version=2))
