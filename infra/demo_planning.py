"""The demo's planning step: depots with stock and a fleet, an optimizer worker, plans for the zones' districts."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from services.domain.events import PlanRequested
from services.domain.fleet import Vehicle
from services.domain.geo import Point
from services.domain.places import Depot, OpeningHours

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# Wholesale markets and a distribution centre of Hồ Chí Minh City, with a scarce day's stock (item units).
DEPOTS = [
    ("dep-binh-dien", "Chợ đầu mối Bình Điền", Point(106.6105, 10.7010), "776",
     {"rice": 900.0, "noodles": 6000.0, "eggs": 4000.0, "water": 6000.0, "vegetables": 300.0,
      "medicine_kit": 40.0}),
    ("dep-thu-duc", "Chợ đầu mối Thủ Đức", Point(106.7620, 10.8700), "769",
     {"rice": 600.0, "noodles": 3000.0, "water": 4000.0, "cooking_oil": 200.0}),
]
# district, depot, trucks, green-lane permit: both zones are orange or red, so only permitted trucks may serve them.
FLEET = [("760", "dep-binh-dien", 3, True), ("760", "dep-thu-duc", 1, True), ("776", "dep-binh-dien", 2, True),
         ("776", "dep-binh-dien", 2, False)]


def load_fleet(container: Any) -> None:
    hours = OpeningHours(clock(4), clock(20))
    container.places.add_depots([Depot(d, name, at, district, hours) for d, name, at, district, _ in DEPOTS])
    for depot_id, *_, stock in DEPOTS:
        container.places.set_depot_stock(depot_id, stock)
    container.places.add_vehicles([
        Vehicle(f"truck-{district}-{n}", f"51C-{district}{n:02}", 2500.0 if n % 2 else 1500.0, 12.0, depot,
                clock(6), clock(18), green_lane_permit=permit, serves_district=district, trips=2)
        for k, (district, depot, count, permit) in enumerate(FLEET) for n in range(k * 10, k * 10 + count)])
    units = sum(sum(d[4].values()) for d in DEPOTS)
    print(f"-- {len(DEPOTS)} depots ({units:,.0f} units in stock) and {sum(f[2] for f in FLEET)} trucks loaded")


def request_and_print_plans(container: Any, districts: list[str], timeout_s: float = 120.0) -> list[str]:
    """A coordinator asks for fresh plans once the picture is complete; the optimizer worker answers."""
    stamp = datetime.now(UTC)
    for district in districts:
        container.publisher.publish(container.topics.plan_requests, district, PlanRequested(
            event_id=f"demo-plan-{district}-{stamp:%H%M%S}", occurred_at=stamp, district_code=district,
            reasons=["coordinator: plan after the morning reports"]))
    deadline = time.monotonic() + timeout_s
    plans: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(plans) < len(districts):
        for district in districts:
            latest = container.plan_store.latest(district)
            if latest and latest["request_event_id"].startswith(f"demo-plan-{district}-{stamp:%H%M%S}"):
                plans[district] = latest
        time.sleep(0.5)
    for district in districts:
        if district not in plans:
            print(f"-- no plan for district {district} within {timeout_s:.0f}s (see the optimizer log)")
            continue
        _print_plan(plans[district])
    return [plans[d]["plan_id"] for d in districts if d in plans]


def approve_and_hand_out(api: Any, base: str, plan_id: str) -> None:
    """The coordinator approves a plan through the API; its first truck's driver gets a link to the live sheet."""
    approved = api.post(f"{base}/plans/{plan_id}/approve")
    print(f"\n-- approved {plan_id}: HTTP {approved.status_code}, "
          f"{approved.json().get('deliveries_published')} drops now on their way")
    plan = api.get(f"{base}/plans/{plan_id}").json()
    if plan["routes"]:
        vehicle = plan["routes"][0]["vehicle_id"]
        link = api.post(f"{base}/plans/{plan_id}/vehicles/{vehicle}/link").json()
        sheet = api.get(link["url"], headers={"Authorization": ""})
        print(f"-- {vehicle}'s volunteer driver link (valid until {link['expires_at']}): {link['url']}")
        print(f"   the live sheet answers HTTP {sheet.status_code} ({len(sheet.content):,} bytes of HTML)")


def _print_plan(plan: dict[str, Any]) -> None:
    stats, allocation = plan["stats"], plan["allocation"]
    print(f"\nplan {plan['plan_id']} ({plan['status']}), from offsets {plan['snapshot_offsets']}")
    print(f"  allocation: shortfalls by reason {dict(Counter(s['reason'] for s in allocation['shortfalls']))}")
    for zone, days in sorted(allocation["days"].items()):
        shown = ", ".join(f"{item} {before:.1f}→{after:.1f}" for item, (before, after) in sorted(days.items())
                          if item in ("rice", "water", "noodles", "medicine_kit"))
        print(f"  days of supply in {zone}: {shown}")
    print(f"  routes: {stats['vehicles_used']} trucks, {stats['stops']} stops, {stats['distance_km']} km, "
          f"solved in {stats['solve_s']} s; unserved {stats['unserved']}")
    by_vehicle: dict[str, list[dict[str, Any]]] = {}
    for stop in plan["stops"]:
        by_vehicle.setdefault(stop["vehicle_id"], []).append(stop)
    for vehicle, stops in sorted(by_vehicle.items()):
        legs = ", ".join(f"{s['eta'].astimezone(LOCAL).strftime('%H:%M')} {s['kind']} {s['zone_id'] or s['order_id']}"
                         f"{' @' + s['checkpoint_id'] if s['checkpoint_id'] else ''} {s['kg']:.0f} kg" for s in stops)
        print(f"  {vehicle:16} {legs}")
    for unserved in plan["unserved"]:
        print(f"  unserved {unserved['order_id']}: {unserved['reason']} ({unserved['detail']})")
