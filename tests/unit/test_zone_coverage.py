from datetime import UTC, datetime

import pytest

from services.district import coverage_event
from services.domain.alerts import ShortageRule
from services.domain.coverage import Totals
from services.domain.items import default_catalogue
from services.zone_coverage import fold_zone_part

NOW = datetime(2021, 7, 9, 8, tzinfo=UTC)
ITEMS = default_catalogue()


def part(district, need, stock, households=10):
    return coverage_event("zone-part", f"z1|{district}", district, "z1",
                          Totals(households=households, people=3 * households, need=need, stock=stock), NOW)


def test_parts_from_several_districts_add_up_and_replays_change_nothing():
    state = None
    for p in (part("760", {"rice": 10}, {"rice": 50}), part("770", {"rice": 30}, {"rice": 10}),
              part("770", {"rice": 30}, {"rice": 10})):
        update = fold_zone_part(state, p, ShortageRule(), ITEMS, NOW)
        state = update.state
    assert update.coverage.need == {"rice": 40} and update.coverage.households == 20
    assert update.coverage.days_of_supply["rice"] == pytest.approx(1.5)
    assert update.coverage.district_code == "760"  # not told the zone's district: the smallest code


def test_a_zone_across_districts_is_planned_by_the_district_that_declared_it():
    update = fold_zone_part(None, part("760", {"rice": 10}, {}), ShortageRule(), ITEMS, NOW, home_district="770")
    assert update.coverage.district_code == "770"


def test_shortage_alerts_open_below_threshold_and_resolve_above_the_band():
    rule = ShortageRule(default_days=3, perishable_days=1)
    first = fold_zone_part(None, part("760", {"rice": 10, "vegetables": 10}, {"rice": 20, "vegetables": 20}),
                           rule, ITEMS, NOW)
    assert [(a.item_code, a.status) for a in first.alerts] == [("rice", "open")]  # vegetables: 2 days > 1
    hovering = fold_zone_part(first.state, part("760", {"rice": 10}, {"rice": 32}), rule, ITEMS, NOW)
    assert hovering.alerts == []  # 3.2 days: above the threshold, inside the band
    resolved = fold_zone_part(hovering.state, part("760", {"rice": 10}, {"rice": 40}), rule, ITEMS, NOW)
    assert [(a.alert_id, a.status) for a in resolved.alerts] == [("z1:rice:1", "resolved")]
    again = fold_zone_part(resolved.state, part("760", {"rice": 10}, {"rice": 5}), rule, ITEMS, NOW)
    assert [a.alert_id for a in again.alerts] == ["z1:rice:2"]


def test_an_emptied_part_leaves_the_zone():
    state = fold_zone_part(None, part("760", {"rice": 10}, {"rice": 50}), ShortageRule(), ITEMS, NOW).state
    update = fold_zone_part(state, part("760", {}, {}, households=0), ShortageRule(), ITEMS, NOW)
    assert update.state["parts"] == {} and update.coverage.households == 0
