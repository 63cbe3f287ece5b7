"""A Hồ Chí Minh City-scale plan: about 3,000 stops, 300 vehicles, the 22 real districts, in one call of the
product's planner (`optimizer.planning.plan`), timed against a 60 s target.

Stops are drawn inside the real district polygons in proportion to population; depots sit at real wholesale
market locations; some zones are red (served at a checkpoint) or green-lane only; a share of orders are
medicine (first priority) or perishable (ride limit). The plan runs with the built-in haversine travel times and
the default decomposition (district, then clusters of at most 150 stops, solved in parallel processes).

    .venv/bin/python -m bench.city_plan [--stops 3000] [--vehicles 300] [--time-limit 45] [--seed 7]

Prints the figures and writes bench/results/city_plan.json; nothing asserts on wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from shapely.geometry import shape

from infra.scenario.shapes import point_in
from optimizer.planning import Order, PlanningInput, PlanVehicle, Priority, ZoneAccess, plan
from optimizer.travel import travel_times
from services.adapters.geodata import read_units
from services.domain.admin import AdminLevel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "city_plan.json"
TARGET_S = 60.0
H = 3600
# Wholesale markets and distribution centres of the city (approximate coordinates).
DEPOTS = {"binh-dien": (106.6105, 10.7010), "thu-duc": (106.7620, 10.8700), "hoc-mon": (106.5930, 10.8860),
          "tan-binh": (106.6520, 10.8010), "district-7": (106.7200, 10.7350), "go-vap": (106.6800, 10.8400)}


def scenario(stops: int, vehicles: int, seed: int) -> PlanningInput:
    rng = random.Random(seed)
    districts = [u for u in read_units(ROOT / "infra" / "data" / "vn", ("79",))
                 if u.level is AdminLevel.DISTRICT and u.boundary is not None]
    weights = [u.population or 100_000 for u in districts]
    shapes = {u.code: shape(u.boundary.to_geojson()) for u in districts}  # type: ignore[union-attr]
    orders: list[Order] = []
    zones: dict[str, ZoneAccess] = {}
    for n in range(stops):
        district = rng.choices(districts, weights)[0]
        lon, lat = point_in(rng, shapes[district.code])
        zone_id = f"z-{district.code}-{n % 4}"
        if zone_id not in zones:
            red = n % 4 == 0 and rng.random() < 0.5
            zones[zone_id] = ZoneAccess(zone_id, red=red, permit_only=red or rng.random() < 0.2,
                                        checkpoint_id=f"cp-{zone_id}" if red else None,
                                        checkpoint=(lon + 0.002, lat) if red else None, handover_s=900)
        kind = rng.random()
        priority = Priority.MEDICINE if kind < 0.05 else Priority.VULNERABLE if kind < 0.3 else Priority.NORMAL
        perishable = rng.random() < 0.2
        opens = rng.choice([6, 7, 8]) * H
        orders.append(Order(f"o{n}", district.code, (lon, lat), kg=rng.uniform(50, 400), m3=rng.uniform(0.1, 1.0),
                            window=(opens, opens + rng.choice([4, 6, 10]) * H), zone_id=zone_id, service_s=600,
                            priority=priority, max_ride_s=3 * H if perishable else None))
    depot_names = list(DEPOTS)
    fleet = [PlanVehicle(f"v{i}", DEPOTS[depot_names[i % len(depot_names)]], capacity_kg=rng.choice([1500, 2500, 5000]),
                         capacity_m3=rng.choice([8.0, 12.0, 20.0]), shift=(6 * H, 18 * H),
                         green_lane_permit=rng.random() < 0.4, trips=2, reload_s=1800,
                         depot_id=depot_names[i % len(depot_names)])
             for i in range(vehicles)]
    return PlanningInput(orders, fleet, zones, driving_hours=(6 * H, 18 * H))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=3000)
    parser.add_argument("--vehicles", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=45.0, help="search seconds given to the planner")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    built_at = time.monotonic()
    data = scenario(args.stops, args.vehicles, args.seed)
    built_s = time.monotonic() - built_at
    started = time.monotonic()
    result = plan(data, travel_times(None), time_limit_s=args.time_limit)
    wall = time.monotonic() - started
    served = sum(len(r.stops) for r in result.routes)
    reasons = Counter(u.reason.value for u in result.unserved)
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "args": vars(args), "orders": len(data.orders), "vehicles": len(data.vehicles),
        "districts": len({o.district_code for o in data.orders}), "sub_problems": result.sub_problems,
        "stops_served": served, "orders_unserved": len(result.unserved), "unserved_by_reason": dict(reasons),
        "vehicles_used": sum(1 for r in result.routes if r.stops), "distance_km": round(result.distance_m / 1000, 1),
        "plan_wall_s": round(wall, 1), "scenario_build_s": round(built_s, 1), "target_s": TARGET_S,
        "peak_rss_mb_incl_children": round(_peak_rss_mb(), 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:28} {value}")
    verdict = "met" if wall <= TARGET_S else "MISSED"
    print(f"bench-plan: {len(data.orders)} orders, {len(data.vehicles)} vehicles, {figures['districts']} districts "
          f"planned in {wall:.1f} s (target <= {TARGET_S:.0f} s: {verdict}); {served} stops served, "
          f"{len(result.unserved)} orders unserved")


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
