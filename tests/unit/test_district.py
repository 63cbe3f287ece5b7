"""The district processor on a plain dict standing in for the faust table (no servers)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.adapters.geodata import read_catalogue
from services.adapters.zone_index import ZoneIndex
from services.district import DistrictProcessor
from services.domain.errors import UnknownReference
from services.domain.geo import Point
from services.domain.items import default_catalogue
from services.domain.ledger import Batch
from services.domain.places import SalesPointStatus
from services.topics import Topics
from tests.unit.builders import (
    BEN_NGHE,
    TAN_DINH,
    confirmed,
    declared,
    demand,
    lifted,
    planned,
    price,
    redrawn,
    square,
    stock,
)

ADMIN = read_catalogue(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn", ("79",))
TOPICS = Topics.with_prefix("t")
INSIDE, ELSEWHERE = Point(106.700, 10.775), Point(106.690, 10.790)


def processor_with_zone() -> DistrictProcessor:
    processor = DistrictProcessor(ADMIN, default_catalogue(), ZoneIndex(), TOPICS)
    processor.zones.apply(declared("z1", square(106.700, 10.775, 0.002)))
    return processor


def fold(processor, table, event, topic, offset):
    processor.check_references(event)
    return processor.fold(table, event, topic, 0, offset)


def areas(processor):
    return {key: totals for key, totals in processor.book.areas.items()}


def test_demand_is_counted_once_per_event_id_and_placed_in_its_zone():
    p, table = processor_with_zone(), {}
    event = demand(10, 30, at=INSIDE)
    fold(p, table, event, TOPICS.demand, 1)
    fold(p, table, event, TOPICS.demand, 1)  # re-delivered after a crash
    fold(p, table, event, TOPICS.demand, 7)  # published twice
    fold(p, table, demand(5, 12, commune=TAN_DINH), TOPICS.demand, 8)
    a = areas(p)
    assert a[("zone-part", "z1|760")].households == 10
    assert a[("zone-part", "outside|760")].households == 5
    assert a[("commune", BEN_NGHE)].need["rice"] == pytest.approx(12.0)
    assert a[("district", "760")].households == 15


def test_stock_snapshots_replace_deltas_add_and_paused_points_do_not_count():
    p, table = processor_with_zone(), {}
    fold(p, table, demand(10, 25, at=INSIDE), TOPICS.demand, 0)  # rice need 10 kg/day
    fold(p, table, stock("sp1", {"rice": 50}, INSIDE), TOPICS.stock, 0)
    delta = stock("sp1", {"rice": -20}, INSIDE, delta=True)
    fold(p, table, delta, TOPICS.stock, 1)
    fold(p, table, delta, TOPICS.stock, 1)  # replay: the offset was applied
    fold(p, table, delta, TOPICS.stock, 9)  # duplicate publish: the event id was applied
    zone = p.book.areas[("zone-part", "z1|760")]
    assert zone.stock["rice"] == pytest.approx(30.0)
    assert zone.days_of_supply()["rice"] == pytest.approx(3.0)
    fold(p, table, stock("sp1", {"rice": 5}, INSIDE, status=SalesPointStatus.PAUSED), TOPICS.stock, 10)
    assert "rice" not in p.book.areas[("zone-part", "z1|760")].stock


def test_a_replayed_stock_event_whose_marker_was_lost_is_not_applied_twice():
    p, table = processor_with_zone(), {}
    event = stock("sp1", {"rice": 5}, INSIDE, delta=True)
    fold(p, table, event, TOPICS.stock, 3)
    del table["s:" + event.event_id]  # the crash lost the last write, the marker
    fold(p, table, event, TOPICS.stock, 3)
    assert table["p:sp1"]["stock"]["rice"] == 5 and "s:" + event.event_id in table


def test_deliveries_are_on_the_way_until_confirmed_then_stock_at_the_point():
    p, table = processor_with_zone(), {}
    fold(p, table, stock("sp1", {"rice": 10}, INSIDE), TOPICS.stock, 0)
    fold(p, table, planned("stop-1", {"rice": 100}, INSIDE, point_id="sp1"), TOPICS.deliveries, 0)
    zone = p.book.areas[("zone-part", "z1|760")]
    assert (zone.stock["rice"], zone.on_way["rice"]) == (10, 100)
    fold(p, table, confirmed("stop-1", {"rice": 90}), TOPICS.deliveries, 1)
    fold(p, table, confirmed("stop-1", {"rice": 90}), TOPICS.deliveries, 2)  # confirmed twice
    zone = p.book.areas[("zone-part", "z1|760")]
    assert zone.stock["rice"] == 100 and "rice" not in zone.on_way
    fold(p, table, planned("stop-2", {"rice": 40}, INSIDE), TOPICS.deliveries, 3)
    fold(p, table, confirmed("stop-2", {}, failed="checkpoint closed"), TOPICS.deliveries, 4)
    assert "rice" not in p.book.areas[("zone-part", "z1|760")].on_way
    with pytest.raises(UnknownReference):
        fold(p, table, confirmed("stop-404", {"rice": 1}), TOPICS.deliveries, 5)


def test_goods_handed_to_a_distribution_point_are_counted_once_and_its_next_snapshot_says_what_is_left():
    """Before: goods handed over in a zone counted as its stock for ever, and the distribution point's own report
    of them counted them again; the zone looked stocked while its households ran out."""
    p, table = processor_with_zone(), {}
    fold(p, table, stock("relief-z1", {}, INSIDE), TOPICS.stock, 0)  # the zone's distribution point opens, empty
    fold(p, table, planned("stop-1", {"rice": 100}, INSIDE), TOPICS.deliveries, 0)
    fold(p, table, confirmed("stop-1", {"rice": 100}, point_id="relief-z1"), TOPICS.deliveries, 1)
    assert p.book.areas[("zone-part", "z1|760")].stock["rice"] == 100
    fold(p, table, stock("relief-z1", {"rice": 30}, INSIDE), TOPICS.stock, 1)  # next morning: 70 eaten
    assert p.book.areas[("zone-part", "z1|760")].stock["rice"] == 30
    # A point this district's ledger does not know: the goods count as stock of the area, not nowhere.
    fold(p, table, planned("stop-2", {"rice": 5}, INSIDE), TOPICS.deliveries, 2)
    fold(p, table, confirmed("stop-2", {"rice": 5}, point_id="elsewhere"), TOPICS.deliveries, 3)
    assert p.book.areas[("zone-part", "z1|760")].stock["rice"] == 35
    p.rebuild(table.items(), {0})  # a rebuild from the ledger gives the same picture
    assert p.book.areas[("zone-part", "z1|760")].stock["rice"] == 35


def test_a_redraw_moves_demand_and_stock_without_losing_or_double_counting():
    p, table = processor_with_zone(), {}
    fold(p, table, demand(10, 30, at=INSIDE), TOPICS.demand, 0)
    fold(p, table, demand(4, 8, at=ELSEWHERE), TOPICS.demand, 1)
    fold(p, table, demand(2, 6, zone_id="z1"), TOPICS.demand, 2)
    fold(p, table, stock("sp1", {"rice": 50}, INSIDE), TOPICS.stock, 0)
    p.zones.apply(redrawn("z1", 2, square(106.690, 10.790, 0.002)))  # moved to cover ELSEWHERE only
    p.rebuild(table.items(), {0})
    a = areas(p)
    assert a[("zone-part", "z1|760")].households == 4 + 2
    assert a[("zone-part", "outside|760")].households == 10
    assert a[("zone-part", "outside|760")].stock["rice"] == 50
    assert a[("district", "760")].households == 16
    p.zones.apply(lifted("z1", 3))
    p.rebuild(table.items(), {0})
    assert p.book.areas[("zone-part", "outside|760")].households == 16
    assert ("zone-part", "z1|760") not in p.book.areas
    emptied = [o.event for o in p.flush() if o.key == "z1"]
    assert emptied and emptied[0].households == 0 and emptied[0].need == {}  # the zone stage drops this part


def test_rebuild_counts_only_the_partitions_this_worker_owns():
    p, table = processor_with_zone(), {}
    p.fold(table, demand(10, 30), TOPICS.demand, 0, 0)
    p.fold(table, demand(3, 9), TOPICS.demand, 1, 0)
    p.rebuild(table.items(), {1})
    assert p.book.areas[("district", "760")].households == 3


@pytest.mark.parametrize("event, field", [
    (demand(commune="99999"), "commune_code"),
    (demand(zone_id="nowhere"), "zone_id"),
    (demand(commune="27211"), "district_code"),  # a Quận 11 ward reported under Quận 1
    (stock("sp1", {"gold": 1}, INSIDE), "item"),
])
def test_unknown_references_are_refused(event, field):
    with pytest.raises(UnknownReference) as err:
        processor_with_zone().check_references(event)
    assert err.value.field == field


def test_flush_publishes_changed_areas_and_a_debounced_plan_request():
    p, table = processor_with_zone(), {}
    fold(p, table, demand(10, 30, at=INSIDE), TOPICS.demand, 0)  # need but no stock: short of everything
    out = p.flush()
    kinds = sorted({o.topic for o in out})
    assert kinds == sorted({TOPICS.zone_parts, TOPICS.coverage, TOPICS.plan_requests})
    assert [o.key for o in out if o.topic == TOPICS.zone_parts] == ["z1"]
    assert p.flush() == []  # nothing changed
    fold(p, table, stock("sp1", {"rice": 1}, ELSEWHERE), TOPICS.stock, 0)
    assert not [o for o in p.flush() if o.topic == TOPICS.plan_requests]  # changed, but within the debounce


def test_a_district_whose_short_areas_only_recover_is_not_planned_again_one_that_falls_short_is():
    """A plan approved for a district makes its areas recover; re-planning on that (the old rule: any change of the
    short set) made every approval ask for the next plan, round and round."""
    p, table = processor_with_zone(), {}
    t0 = datetime(2021, 7, 9, 8, tzinfo=UTC)
    fold(p, table, demand(10, 30, at=INSIDE), TOPICS.demand, 0)  # short of everything
    assert [o for o in p.flush(t0) if o.topic == TOPICS.plan_requests]
    fold(p, table, stock("sp1", {"rice": 1000}, INSIDE), TOPICS.stock, 0)  # rice recovers, the rest stays short
    assert not [o for o in p.flush(t0 + timedelta(hours=1)) if o.topic == TOPICS.plan_requests]
    fold(p, table, stock("sp1", {}, INSIDE), TOPICS.stock, 1)  # rice falls short again
    requests = [o.event for o in p.flush(t0 + timedelta(hours=2)) if o.topic == TOPICS.plan_requests]
    assert len(requests) == 1 and any(r.endswith(":rice") for r in requests[0].reasons)


def test_price_hikes_open_one_alert_per_area_and_item_then_resolve():
    p, table = processor_with_zone(), {}
    assert fold(p, table, price("eggs", 3_200), TOPICS.prices, 0) == []
    opened = fold(p, table, price("eggs", 6_000, minutes=1), TOPICS.prices, 1)
    assert [o.event.status for o in opened] == ["open"]
    again = fold(p, table, price("eggs", 5_500, minutes=2, place="Chợ Tân Định"), TOPICS.prices, 2)
    assert again[0].event.alert_id == opened[0].event.alert_id and again[0].event.reports == 3
    assert fold(p, table, price("eggs", 5_500, minutes=2), TOPICS.prices, 2) == []  # replay
    later = [o.event.status for minute in range(3, 8)
             for o in fold(p, table, price("eggs", 3_000, minutes=minute), TOPICS.prices, minute)]
    assert later == ["resolved"]


def test_a_batch_writes_each_key_once_markers_last_and_a_crash_losing_any_suffix_is_healed_by_the_replay():
    events = [(TOPICS.stock, stock("sp1", {"rice": 10}, INSIDE), 0),
              (TOPICS.deliveries, planned("stop-1", {"rice": 100}, INSIDE, point_id="sp1"), 0),
              (TOPICS.stock, stock("sp1", {"rice": 5}, INSIDE, delta=True, event_id="twice"), 1),
              (TOPICS.deliveries, confirmed("stop-1", {"rice": 90}), 1),
              (TOPICS.stock, stock("sp1", {"rice": 5}, INSIDE, delta=True, event_id="twice"), 2),  # published twice
              (TOPICS.demand, demand(10, 30, at=INSIDE), 0),
              (TOPICS.stock, stock("sp1", {"rice": 1}, INSIDE, delta=True), 3)]

    def fold_batch(table):
        p = processor_with_zone()
        p.rebuild(table.items(), {0})  # what a restarted worker does after recovering the table
        batch = Batch(table)
        for topic, event, offset in events:
            fold(p, batch.at(0), event, topic, offset)
        return p, batch

    def picture(p):
        zone = p.book.areas[("zone-part", "z1|760")]
        return zone.households, zone.stock.get("rice"), zone.on_way.get("rice")

    p, batch = fold_batch({})
    writes = batch.writes()
    keys = [key for _, key, _ in writes]
    assert len(keys) == len(set(keys)) < len(events) + 3  # the sales point is written once, not four times
    assert keys.index("p:sp1") < keys.index("v:plan-1|stop-1") < keys.index("s:twice")
    assert picture(p) == (10, 10 + 5 + 90 + 1, None)
    for kept in range(len(writes) + 1):  # the changelog keeps a prefix; the batch's offsets were not committed
        recovered = {key: value for _, key, value in writes[:kept]}
        assert picture(fold_batch(recovered)[0]) == picture(p), f"{kept} of {len(writes)} writes kept"
