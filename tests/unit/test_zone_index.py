from services.adapters.zone_index import ZoneIndex
from services.domain.ledger import DemandEntry
from services.domain.zones import RiskLevel
from tests.unit.builders import declared, lifted, redrawn, square


def entry(lon=None, lat=None, hint=None):
    return DemandEntry(0, "26740", "760", "2021-07-09T08:00:00+00:00", 1, 1, {}, {}, hint, lon, lat)


def test_the_riskiest_zone_wins_and_versions_only_move_forward():
    index = ZoneIndex()
    assert index.apply(declared("orange", square(106.70, 10.77, 0.01), RiskLevel.HIGH))
    assert index.apply(declared("red", square(106.70, 10.77, 0.002), RiskLevel.VERY_HIGH))
    assert not index.apply(declared("red", square(0, 0, 1)))  # declared twice
    assert index.zone_of(entry(106.70, 10.77)) == "red"
    assert index.zone_of(entry(106.705, 10.775)) == "orange"
    assert index.zone_of(entry(106.80, 10.90)) == "outside"
    assert index.apply(redrawn("red", 2, square(106.60, 10.70, 0.002)))
    assert not index.apply(redrawn("red", 2, square(106.70, 10.77, 0.002)))  # replayed
    assert index.zone_of(entry(106.70, 10.77)) == "orange"
    assert index.apply(lifted("orange", 2))
    assert index.zone_of(entry(106.70, 10.77)) == "outside"


def test_a_named_zone_holds_while_active():
    index = ZoneIndex()
    index.apply(declared("z", square(106.70, 10.77, 0.002)))
    assert index.zone_of(entry(hint="z")) == "z"
    index.apply(lifted("z", 2))
    assert index.zone_of(entry(hint="z")) == "outside"


def test_a_redraw_or_lift_of_a_zone_never_declared_changes_nothing():
    index = ZoneIndex()  # PostGIS refuses them too (UnknownReference): the index must not make them active
    assert not index.apply(redrawn("ghost", 2, square(106.70, 10.77, 0.002)))
    assert not index.apply(lifted("ghost", 3))
    assert not index.is_active("ghost") and index.district_of("ghost") is None
    assert index.zone_of(entry(106.70, 10.77)) == "outside"
