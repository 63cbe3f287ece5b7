"""The days of a scenario: demand lists arriving late and in pieces, daily stock reports, sales points pausing,
a depot outage and price spikes. Zone changes come from the zones' timelines (`Scenario.zone_changes`)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import shapely
from shapely.geometry import Point

from services.domain.items import DEFAULT_ITEMS

from .draw_zones import DrawnZone
from .model import (
    DemandSubmission,
    Depot,
    DepotOutage,
    Event,
    HouseholdBatch,
    PriceReport,
    SalesPoint,
    SalesPointStatusChange,
    StockReport,
    event_order,
)
from .reference import Reference

if TYPE_CHECKING:
    from .generate import Size

RATIONS = {i.code: i.ration_per_person_per_day for i in DEFAULT_ITEMS if i.ration_per_person_per_day}
PRICES = {i.code: i.reference_price_vnd for i in DEFAULT_ITEMS}
PRICED = ["rice", "noodles", "eggs", "vegetables", "pork", "cooking_oil", "water"]
SPIKY = ["vegetables", "pork", "eggs", "rice"]
PAUSE_REASONS = ["nhân viên F0 (a staff member tested positive)", "khử khuẩn (disinfection)",
                 "hết hàng (out of goods)"]


def draw_events(rng: random.Random, spec: Size, ref: Reference, zones: list[DrawnZone],
                households: list[HouseholdBatch], points: list[SalesPoint], depots: list[Depot]) -> list[Event]:
    """Every event but zone changes, sorted by day, hour and kind."""
    events: list[Event] = [*_demand(rng, spec, households)]
    outage = _outage(rng, spec, depots)
    events.append(outage)
    pauses = _pauses(rng, spec, points)
    for pause in pauses.values():
        events.extend(pause)
    # Prices jump the day after the outage, and on a few other days.
    spikes = sorted({*rng.sample(range(2, spec.days + 1), spec.spike_days - 1), min(outage.day + 1, spec.days)})
    events.extend(_stock(rng, spec, ref, zones, households, points, pauses, outage, spikes))
    events.extend(_prices(rng, spec, points, depots, spikes))
    return sorted(events, key=event_order)


def _hour(rng: random.Random, low: float, high: float) -> float:
    return rng.randint(int(low * 4), int(high * 4)) / 4


def _demand(rng: random.Random, spec: Size, households: list[HouseholdBatch]) -> list[Event]:
    """Residents' lists reach the system over the first three days; temporary residents' on the day they appear
    or the next."""
    events: list[Event] = []
    for batch in households:
        if batch.temporary_residents:
            day = min(spec.days, batch.appear_day + (rng.random() < 0.3))
        else:
            day = min(spec.days, rng.choices((1, 2, 3), (55, 30, 15))[0])
        events.append(DemandSubmission(event_id=f"demand-{batch.batch_id}", day=day, hour=_hour(rng, 7, 17),
                                       batch_id=batch.batch_id))
    return events


def _outage(rng: random.Random, spec: Size, depots: list[Depot]) -> DepotOutage:
    """A wholesale market closes for an outbreak among its traders, for half a day to a day and a half."""
    markets = [d for d in depots if d.kind == "wholesale_market"] or depots
    depot = rng.choice(markets)
    day = rng.randint(*spec.outage)
    start = _hour(rng, 2, 6)
    until_day = min(spec.days, day + (spec.days > 4))
    until = _hour(rng, 10, 16)
    return DepotOutage(event_id=f"outage-{depot.depot_id}-d{day:02}", day=day, hour=start, depot_id=depot.depot_id,
                       until_day=until_day, until_hour=until,
                       reason="ổ dịch tại chợ, tạm đóng cửa (an outbreak among traders; closed)")


Pause = tuple[SalesPointStatusChange, ...]


def _pauses(rng: random.Random, spec: Size, points: list[SalesPoint]) -> dict[str, Pause]:
    """Some fixed points pause for one to three days, then reopen (unless the scenario ends first)."""
    fixed = [p for p in points if p.kind == "fixed"]
    pauses: dict[str, Pause] = {}
    for point in rng.sample(fixed, min(spec.pauses, len(fixed))):
        day = rng.randint(2, max(2, spec.days - 1))
        paused = SalesPointStatusChange(event_id=f"status-{point.point_id}-d{day:02}-paused", day=day,
                                        hour=_hour(rng, 10, 15), point_id=point.point_id, status="paused",
                                        reason=rng.choice(PAUSE_REASONS))
        back = day + rng.randint(1, 3)
        pauses[point.point_id] = (paused,) if back > spec.days else (paused, SalesPointStatusChange(
            event_id=f"status-{point.point_id}-d{back:02}-open", day=back, hour=_hour(rng, 6, 8),
            point_id=point.point_id, status="open", reason="mở cửa lại (reopened)"))
    return pauses


def _stock(rng: random.Random, spec: Size, ref: Reference, zones: list[DrawnZone], households: list[HouseholdBatch],
           points: list[SalesPoint], pauses: dict[str, Pause], outage: DepotOutage, spikes: list[int]) -> list[Event]:
    """Each open point reports a snapshot each morning, sized to the people it serves: a few days of supply
    outside zones, less inside them (least in red ones), less still after the depot outage and on spike days."""
    district_of = {p.point_id: _district(ref, p) for p in points}
    fixed_in = {d: sum(1 for p in points if p.kind == "fixed" and district_of[p.point_id] == d)
                for d in sorted(set(district_of.values()))}
    batch_district = {b.batch_id: ref.communes[b.commune_code] for b in households}
    by_zone = {z.zone.zone_id: z for z in zones}
    mobile_in = {z: sum(1 for p in points if p.zone_id == z) for z in by_zone}
    lons, lats = [b.lon for b in households], [b.lat for b in households]
    inside = {z.zone.zone_id: [b for b, hit in zip(households, shapely.contains_xy(z.declared, lons, lats),
                                                  strict=True) if hit] for z in zones}
    # Fixed points inside a zone's outermost boundary: the only ones whose stock a zone can cut.
    near = {p.point_id: [z for z in zones if (z.widened or z.declared).contains(Point(p.lon, p.lat))]
            for p in points if p.kind == "fixed"}
    events: list[Event] = []
    for day in range(1, spec.days + 1):
        people: dict[str, int] = {}
        for b in households:
            if b.appear_day <= day:
                people[batch_district[b.batch_id]] = people.get(batch_district[b.batch_id], 0) + b.people
        zone_people = {z: sum(b.people for b in inside[z] if b.appear_day <= day) for z in mobile_in if mobile_in[z]}
        for point in points:
            hour = _hour(rng, int(point.opens[:2]), int(point.opens[:2]) + 2)
            if point.kind == "mobile":
                drawn = by_zone[point.zone_id or ""]
                hour = _hour(rng, 7, 9)
                if drawn.polygon_at(day, hour) is None:
                    continue
                served = zone_people[drawn.zone.zone_id] / mobile_in[drawn.zone.zone_id]
                days = rng.uniform(0.5, 2.5)
            else:
                if _paused(pauses.get(point.point_id, ()), day, hour):
                    continue
                served = people.get(district_of[point.point_id], 0) / fixed_in[district_of[point.point_id]]
                risk = max((z.risk_at(day, hour) for z in near[point.point_id]
                            if (poly := z.polygon_at(day, hour)) is not None
                            and poly.contains(Point(point.lon, point.lat))), default=1)
                days = {1: rng.uniform(2.0, 6.0), 2: rng.uniform(1.5, 4.0), 3: rng.uniform(1.0, 3.0),
                        4: rng.uniform(0.3, 1.5)}[risk]
            if day in (outage.day, outage.day + 1):
                days *= 0.6
            if day in spikes:
                days *= 0.75
            quantities = {code: round(served * ration * days * rng.uniform(0.8, 1.2), 1)
                          for code, ration in RATIONS.items()}
            quantities["milk"] = round(served * 0.03 * days * rng.uniform(0.8, 1.2), 1)
            events.append(StockReport(event_id=f"stock-{point.point_id}-d{day:02}", day=day, hour=hour,
                                      point_id=point.point_id, quantities=quantities))
    return events


def _district(ref: Reference, point: SalesPoint) -> str:
    return ref.communes[point.commune_code]


def _paused(pause: Pause, day: int, hour: float) -> bool:
    if not pause:
        return False
    start = (pause[0].day, pause[0].hour)
    end = (pause[1].day, pause[1].hour) if len(pause) > 1 else (10_000, 0.0)
    return start <= (day, hour) < end


def _prices(rng: random.Random, spec: Size, points: list[SalesPoint], depots: list[Depot],
            spikes: list[int]) -> list[Event]:
    """Prices near the reference most days; on spike days two or three items jump 50–100% at most places."""
    places = [p.point_id for p in points if p.kind == "fixed"] + [d.depot_id for d in depots]
    events: list[Event] = []
    for day in range(1, spec.days + 1):
        spiking = rng.sample(SPIKY, rng.randint(2, 3)) if day in spikes else []
        reports = [(rng.choice(PRICED), rng.choice(places)) for _ in range(spec.price_reports)]
        reports += [(item, rng.choice(places)) for item in spiking for _ in range(3)]
        for n, (item, place) in enumerate(reports):
            factor = rng.uniform(1.5, 2.0) if item in spiking and (n >= spec.price_reports or rng.random() < 0.7) \
                else rng.uniform(0.95, 1.15)
            events.append(PriceReport(event_id=f"price-d{day:02}-{n + 1:03}", day=day, hour=_hour(rng, 6, 12),
                                      item_code=item, place_id=place, price_vnd=int(round(PRICES[item] * factor, -2))))
    return events
