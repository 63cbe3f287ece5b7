"""A rebuild folds the same events as the live worker, in another order between topics and against the zone map as it
ends up: the picture must not depend on either (found by tests/faults/test_replay.py)."""

from datetime import timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

from services.adapters.geodata import read_catalogue
from services.adapters.zone_index import ZoneIndex
from services.district import DistrictProcessor
from services.domain.events import Event
from services.domain.geo import Point
from services.domain.items import default_catalogue
from services.domain.ledger import Table
from services.domain.places import SalesPointStatus
from services.topics import Topics
from tests.unit.builders import T0, confirmed, declared, demand, lifted, planned, square, stock

ADMIN = read_catalogue(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn", ("79",))
TOPICS = Topics.with_prefix("t")
WHERE = Point(106.700, 10.775)  # inside z1


def processor() -> DistrictProcessor:
    p = DistrictProcessor(ADMIN, default_catalogue(), ZoneIndex(), TOPICS)
    p.zones.apply(declared("z1", square(106.700, 10.775, 0.002)))
    return p


def at(event: Event, minutes: int) -> tuple[Event, float]:
    """The event as sent `minutes` after T0, with the time it reached Kafka (its record timestamp)."""
    when = T0 + timedelta(minutes=minutes)
    return type(event)(**{**event.__dict__, "occurred_at": when}), when.timestamp()


def fold_all(p: DistrictProcessor, table: Table, events: list[tuple[str, Any, int]]) -> None:
    for topic, sent, offset in events:
        event, produced_at = sent if isinstance(sent, tuple) else (sent, None)
        p.check_references(event)
        p.fold(table, event, topic, 0, offset, produced_at)


def interleavings(a: list[Any], b: list[Any]) -> list[list[Any]]:
    """Every merge of two sequences that keeps the order within each (as each topic's partition is read)."""
    merges = []
    for picks in sorted(set(permutations([0] * len(a) + [1] * len(b)))):
        ia, ib = iter(a), iter(b)
        merges.append([next(ia) if pick == 0 else next(ib) for pick in picks])
    return merges


def test_a_points_stock_does_not_depend_on_which_topic_was_read_first():
    """Stock reports and drivers' confirmations come on two topics: live, a snapshot sent after a drop was read
    after it; a rebuild read every snapshot first and added the drop on top (counted twice), or met the drop before
    the point existed and kept it as area stock for ever. With the times the messages reached Kafka, every order
    gives the same stock."""
    stock_topic = [(TOPICS.stock, at(stock("sp1", {"rice": 10}, WHERE), 0), 0),  # the morning count
                   (TOPICS.stock, at(stock("sp1", {"rice": 5}, WHERE, delta=True), 20), 1),
                   (TOPICS.stock, at(stock("sp1", {"rice": 70}, WHERE), 60), 2)]  # what is left, drop included
    deliveries = [(TOPICS.deliveries, at(planned("stop-1", {"rice": 100}, WHERE, point_id="sp1"), 0), 0),
                  (TOPICS.deliveries, at(confirmed("stop-1", {"rice": 90}), 30), 1),
                  (TOPICS.deliveries, at(planned("stop-2", {"rice": 40}, WHERE, point_id="sp1"), 40), 2),
                  (TOPICS.deliveries, at(confirmed("stop-2", {"rice": 40}), 90), 3)]  # after the last count
    orders = interleavings(stock_topic, deliveries)
    pictures = set()
    for order in orders:
        p, table = processor(), {}
        fold_all(p, table, order)
        zone = p.book.areas[("zone-part", "z1|760")]
        pictures.add((zone.stock.get("rice"), zone.on_way.get("rice")))
        p.rebuild(table.items(), {0})
        pictures.add((p.book.areas[("zone-part", "z1|760")].stock.get("rice"), None))
    assert len(orders) == 35 and pictures == {(70 + 40, None)}


def test_a_point_first_reported_after_a_drop_takes_its_status_and_keeps_the_drop():
    p, table = processor(), {}
    fold_all(p, table, [(TOPICS.deliveries, at(planned("stop-1", {"rice": 100}, WHERE, point_id="sp1"), 0), 0),
                        (TOPICS.deliveries, at(confirmed("stop-1", {"rice": 100}), 30), 1),
                        (TOPICS.stock, at(stock("sp1", {"rice": 0}, WHERE, status=SalesPointStatus.PAUSED), 10), 0)])
    assert table["p:sp1"]["status"] == "paused" and table["p:sp1"]["stock"] == {"rice": 100}
    assert "rice" not in p.book.areas[("zone-part", "z1|760")].stock  # a paused point's stock is not available


def test_demand_naming_a_zone_lifted_since_is_accepted_and_counts_where_it_lies():
    """Live, the demand came while its zone was active; a rebuild knows the lift before it reads the demand. Both
    must count it: refusing it made a rebuild lose households the live worker had counted."""
    event = demand(12, 40, zone_id="z1")
    live, rebuild, live_table = processor(), processor(), {}
    fold_all(live, live_table, [(TOPICS.demand, event, 0)])
    live.zones.apply(lifted("z1", 2))
    live.rebuild(live_table.items(), {0})  # what a zone change does
    rebuild.zones.apply(lifted("z1", 2))
    fold_all(rebuild, {}, [(TOPICS.demand, event, 0)])  # no UnknownReference: the zone is known, only lifted
    for p in (live, rebuild):
        assert p.book.areas[("district", "760")].households == 12
        assert p.book.areas[("zone-part", "outside|760")].households == 12
