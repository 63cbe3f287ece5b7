from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.adapters.geodata import read_catalogue
from services.domain.commands import FoldDemand, SubmitDemand
from services.domain.demand import DemandReport
from services.domain.errors import UnknownReference
from services.domain.geo import Point
from services.domain.items import default_catalogue
from services.handlers import fold_demand, submit_demand
from services.topics import Topics
from tests.unit.fakes import FakePublisher, FakeZones

ADMIN = read_catalogue(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn", ("79",))
ITEMS = default_catalogue()
BEN_NGHE = "26740"  # Phường Bến Nghé, Quận 1 (760)
NOW = datetime(2021, 7, 9, 8, tzinfo=UTC)


def fold(event_id, report, offset, areas, seen, zones=None):
    return fold_demand(FoldDemand(event_id, "760", report, 0, offset), areas, seen, ADMIN, ITEMS,
                       zones or FakeZones({"z1"}))


def test_submit_publishes_keyed_by_district():
    publisher = FakePublisher()
    report = DemandReport(commune_code=BEN_NGHE, households=4, people=14)
    event = submit_demand(SubmitDemand("e1", NOW, report), ADMIN, ITEMS, publisher, Topics.with_prefix())
    assert event.district_code == "760"
    assert publisher.sent == [("greenlane.demand", "760", event)]


def test_submit_refuses_an_unknown_commune_before_publishing():
    publisher = FakePublisher()
    with pytest.raises(UnknownReference) as err:
        submit_demand(SubmitDemand("e1", NOW, DemandReport(commune_code="99999", households=1, people=1)),
                      ADMIN, ITEMS, publisher, Topics.with_prefix())
    assert err.value.field == "commune_code" and publisher.sent == []


def test_folding_adds_up_and_counts_each_event_once():
    areas, seen = {}, {}
    report = DemandReport(commune_code=BEN_NGHE, households=10, people=30, zone_id="z1")
    first = fold("e1", report, 5, areas, seen)
    assert first is not None and first.households == 10 and first.need_per_day["rice"] == pytest.approx(12.0)
    assert fold("e1", report, 9, areas, seen) is None  # the same event published twice
    assert fold("e-other", report, 5, areas, seen) is None  # re-delivery of an offset already folded
    second = fold("e2", report, 11, areas, seen)
    assert second.households == 20 and second.reports == 2 and second.source_offset == 11
    assert areas["z1|" + BEN_NGHE]["households"] == 20


def test_demand_is_placed_in_the_zone_containing_its_location_or_outside():
    areas, seen = {}, {}
    zones = FakeZones({"z1"}, {(106.70, 10.77): "z1"})
    inside = DemandReport(commune_code=BEN_NGHE, households=1, people=2, location=Point(106.70, 10.77))
    elsewhere = DemandReport(commune_code=BEN_NGHE, households=1, people=2, location=Point(106.75, 10.70))
    assert fold("a", inside, 1, areas, seen, zones).zone_id == "z1"
    assert fold("b", elsewhere, 2, areas, seen, zones).zone_id == "outside"


@pytest.mark.parametrize("report, field", [
    (DemandReport(commune_code="99999", households=1, people=1), "commune_code"),
    (DemandReport(commune_code=BEN_NGHE, households=1, people=1, zone_id="nowhere"), "zone_id"),
    (DemandReport(commune_code="27211", households=1, people=1), "district_code"),  # a Quận 11 ward
])
def test_unknown_references_are_refused_for_the_dead_letter_topic(report, field):
    areas, seen = {}, {}
    with pytest.raises(UnknownReference) as err:
        fold("x", report, 1, areas, seen)
    assert err.value.field == field and areas == {} and seen == {}
