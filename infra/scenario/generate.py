"""Seeded scenarios of Hồ Chí Minh City: `generate("small" | "city", seed)`; the same seed gives the same file.

Scale: one household in a scenario stands for `HOUSEHOLD_SCALE` (100) real ones, so the city's ~2.6 million
households become ~26,000 in ~1,300 batches, and sales-point stock and depot stock are sized to that scaled
demand. Played at `meta.time_acceleration` (1,440: one simulated day per wall-clock minute), the 14-day city runs
in about 14 minutes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace

from shapely import prepared
from shapely.geometry import Point

from services.domain.items import DEFAULT_ITEMS

from .draw_events import draw_events
from .draw_zones import DrawnZone, ZonePlan, draw_zones
from .model import Depot, District, HouseholdBatch, Meta, SalesPoint, Scenario, Vehicle
from .reference import Reference, reference
from .shapes import point_in

HOUSEHOLD_SCALE = 100
PEOPLE_PER_HOUSEHOLD = 3.5
START_DATE = "2021-07-09"  # Directive 16 took effect in Hồ Chí Minh City on 9 July 2021
ACCELERATION = 1440.0
# Wholesale markets (real locations) and distribution centres (approximate), with their district.
DEPOTS = [
    ("dep-binh-dien", "Chợ đầu mối Bình Điền", "wholesale_market", "776", 106.6105, 10.7010),
    ("dep-thu-duc", "Chợ đầu mối Thủ Đức", "wholesale_market", "769", 106.7620, 10.8700),
    ("dep-hoc-mon", "Chợ đầu mối Hóc Môn", "wholesale_market", "784", 106.5930, 10.8860),
    ("dep-tan-binh", "Trung tâm phân phối Tân Bình", "distribution_centre", "766", 106.6520, 10.8010),
    ("dep-quan-7", "Trung tâm phân phối Quận 7", "distribution_centre", "778", 106.7200, 10.7350),
    ("dep-go-vap", "Trung tâm phân phối Gò Vấp", "distribution_centre", "764", 106.6800, 10.8400),
]
VULNERABLE_SHARE = {"elderly_alone": 0.04, "poor": 0.08, "f0": 0.03, "f1": 0.06, "disabled": 0.02,
                    "small_children": 0.12}
# Temporary residents (workers renting rooms) are poorer and mostly live in the industrial outskirts.
TEMPORARY_SHARE = {"elderly_alone": 0.01, "poor": 0.35, "f0": 0.04, "f1": 0.08, "disabled": 0.01,
                   "small_children": 0.10}
WORKER_DISTRICTS = {"777": 3.0, "785": 3.0, "761": 2.5, "769": 2.0, "764": 2.0, "784": 2.5, "778": 1.5}
CATEGORIES = [("supermarket", 25, ("Co.opmart", "Bách hóa Xanh", "WinMart", "Satrafoods"), "07:00", "21:00"),
              ("market_stall", 45, ("Sạp chợ",), "05:00", "17:00"),
              ("convenience", 30, ("Cửa hàng tiện lợi",), "06:00", "22:00")]
TRUCKS = [(1000.0, 6.0), (1500.0, 8.0), (2500.0, 12.0), (5000.0, 20.0)]


@dataclass(frozen=True)
class Size:
    districts: tuple[str, ...]  # empty: every district of the province
    days: int
    zones: ZonePlan
    fixed_points: int
    mobile_per_zone: tuple[int, int]  # in orange and red zones
    depots: tuple[str, ...]
    vehicles: int
    temporary_from: int  # first day temporary residents appear
    temporary_share: float
    batch: tuple[int, int]  # households per batch
    pauses: int
    price_reports: int  # per day
    spike_days: int
    outage: tuple[int, int]  # window of the outage's first day
    # The relief supply for the zones, in days of their households' need at its peak: depots' stock on day 1, and
    # what arrives each day. Tight on purpose: the allocation rule matters when there is not enough for everyone.
    relief_days: tuple[float, float] = (2.0, 1.1)


SIZES = {
    "small": Size(("760", "770", "776"), 6, ZonePlan(8, 2, (1, 1), (2, 3), (4, 4), (5, 6), border_share=0.3), 24,
                  (2, 2), ("dep-binh-dien", "dep-quan-7"), 10, 2, 0.10, (4, 20), 2, 8, 1, (3, 4)),
    "city": Size((), 14, ZonePlan(30, 8, (1, 3), (4, 6), (8, 10), (11, 14)), 340, (3, 5),
                 tuple(d[0] for d in DEPOTS), 110, 4, 0.10, (8, 40), 18, 40, 3, (5, 8)),
}


def generate(size: str, seed: int) -> Scenario:
    """A scenario of this size; deterministic for a seed."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    spec = SIZES[size]
    rng = random.Random(f"greenlane-scenario-{size}-{seed}")
    ref = reference("79")
    codes = list(spec.districts) or sorted(ref.districts)
    districts = [District(c, ref.district_names[c], ref.populations[c]) for c in codes]
    zones = draw_zones(rng, ref, codes, spec.zones)
    households = _households(rng, ref, codes, zones, spec)
    points = _sales_points(rng, ref, codes, zones, spec)
    vehicles = _vehicles(rng, ref, codes, zones, _depots(spec), spec)
    depots = _stocked(_depots(spec), vehicles, households, zones, spec)
    events = draw_events(rng, spec, ref, zones, households, points, depots)
    meta = Meta(name=f"hcmc-{size}-{seed}", seed=seed, size=size, start_date=START_DATE, days=spec.days,
                time_acceleration=ACCELERATION, household_scale=HOUSEHOLD_SCALE,
                description=f"Hồ Chí Minh City, {len(districts)} districts, {spec.days} days; generated by "
                            f"`greenlane scenario generate --size {size} --seed {seed}`")
    return Scenario(meta, districts, [z.zone for z in zones], points, depots, vehicles, households, events)


def _households(rng: random.Random, ref: Reference, codes: list[str], zones: list[DrawnZone],
                spec: Size) -> list[HouseholdBatch]:
    """Batches weighted by district population; about a third inside zones; temporary residents late."""
    population = sum(ref.populations[c] for c in codes)
    target = round(population / PEOPLE_PER_HOUSEHOLD / HOUSEHOLD_SCALE)
    weights = [ref.populations[c] for c in codes]
    worker_weights = [w * WORKER_DISTRICTS.get(c, 1.0) for c, w in zip(codes, weights, strict=True)]
    shapes = {c: prepared.prep(ref.districts[c]) for c in codes}
    zone_weights = [z.declared.area for z in zones]
    batches: list[HouseholdBatch] = []
    total = 0
    temporary_target = round(target * spec.temporary_share)
    while total < target:
        temporary = total >= target - temporary_target
        size = rng.randint(*spec.batch)
        roll = rng.random()
        if roll < (0.25 if temporary else 0.33):
            drawn = rng.choices(zones, zone_weights)[0]
            polygon = drawn.widened if drawn.widened is not None and rng.random() < 0.25 else drawn.declared
            lon, lat = point_in(rng, polygon)
            risk = drawn.zone.risk_level
        else:
            district = rng.choices(codes, worker_weights if temporary else weights)[0]
            lon, lat = point_in(rng, ref.districts[district], shapes[district])
            risk = 1
        district_code = next((c for c in codes if shapes[c].contains(Point(lon, lat))), None)
        if district_code is None:
            continue  # on a sliver between district polygons
        shares = dict(TEMPORARY_SHARE if temporary else VULNERABLE_SHARE)
        if risk == 4:
            shares.update(f0=0.06, f1=0.20)
        sizes = [rng.choice((1, 1, 2, 2, 3, 4) if temporary else (1, 2, 3, 3, 4, 4, 5, 6)) for _ in range(size)]
        vulnerable = {g: n for g, share in shares.items() if (n := sum(rng.random() < share for _ in range(size)))}
        appear = rng.randint(spec.temporary_from, spec.days - 1) if temporary else 1
        batches.append(HouseholdBatch(
            batch_id=f"b{len(batches) + 1:04}", commune_code=rng.choice(ref.communes_by_district[district_code]),
            households=size, people=sum(sizes), vulnerable=vulnerable, lon=lon, lat=lat, appear_day=appear,
            temporary_residents=temporary))
        total += size
    return batches


def _sales_points(rng: random.Random, ref: Reference, codes: list[str], zones: list[DrawnZone],
                  spec: Size) -> list[SalesPoint]:
    """Fixed points by population across the districts; mobile points inside orange and red zones."""
    weights = [ref.populations[c] for c in codes]
    shapes = {c: prepared.prep(ref.districts[c]) for c in codes}
    points: list[SalesPoint] = []
    for n in range(spec.fixed_points):
        district = rng.choices(codes, weights)[0]
        lon, lat = point_in(rng, ref.districts[district], shapes[district])
        category, _, brands, opens, closes = rng.choices(CATEGORIES, [c[1] for c in CATEGORIES])[0]
        label = f"{rng.choice(brands)} {ref.district_names[district]} #{n + 1}"
        points.append(SalesPoint(f"sp-{n + 1:03}", label, "fixed", category,
                                 rng.choice(ref.communes_by_district[district]), lon, lat, opens, closes))
    for drawn in zones:
        if drawn.zone.risk_level < 3:
            continue
        # Inside the narrowest boundary, so the point stays in the zone for as long as it lasts.
        inner = drawn.narrowed if drawn.narrowed is not None else drawn.declared
        for k in range(rng.randint(*spec.mobile_per_zone)):
            home: str | None = None
            while home is None:
                lon, lat = point_in(rng, inner)
                home = next((c for c in codes if shapes[c].contains(Point(lon, lat))), None)
            points.append(SalesPoint(f"mp-{drawn.zone.zone_id}-{k + 1}",
                                     f"Điểm bán lưu động {k + 1} – vùng {drawn.zone.zone_id}", "mobile", "mobile",
                                     rng.choice(ref.communes_by_district[home]), lon, lat, "07:00", "17:00",
                                     drawn.zone.zone_id))
    return points


def _depots(spec: Size) -> list[Depot]:
    """The size's depots, empty (`_stocked` fills them)."""
    return [Depot(depot_id, name, kind, district, lon, lat, "03:00" if kind == "wholesale_market" else "05:00",
                  "20:00", {}, {}) for depot_id, name, kind, district, lon, lat in DEPOTS if depot_id in spec.depots]


def _stocked(depots: list[Depot], vehicles: list[Vehicle], households: list[HouseholdBatch],
             zones: list[DrawnZone], spec: Size) -> list[Depot]:
    """Each depot holds `spec.relief_days[0]` days of the need of the zones its trucks serve and receives
    `spec.relief_days[1]` days' worth daily. A zone's need: every household it ever takes in (at its widest); its
    trucks: those of the district that declared it, each depot's part in proportion to the capacity based there.
    Outside the zones ordinary commerce feeds people, not these depots."""
    outer = [(z.zone.district_code, prepared.prep(z.widened or z.declared)) for z in zones]
    need: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # declaring district → item → units
    for b in households:
        district = next((d for d, shape in outer if shape.contains(Point(b.lon, b.lat))), None)
        if district is not None:
            for item in DEFAULT_ITEMS:
                need[district][item.code] += b.people * item.ration_per_person_per_day
            need[district]["milk"] += b.vulnerable.get("small_children", 0)
            need[district]["medicine_kit"] += b.vulnerable.get("f0", 0) / 7
    capacity: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # district → depot → kg
    for v in vehicles:
        capacity[v.district_code or ""][v.depot_id] += v.capacity_kg
    per_depot: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for district, items in need.items():
        fleet = capacity[district]
        for depot_id, kg in fleet.items():
            for code, q in items.items():
                per_depot[depot_id][code] += q * kg / sum(fleet.values())
    initial, inbound = spec.relief_days
    return [replace(d, initial_stock={c: round(q * initial) for c, q in per_depot[d.depot_id].items() if q},
                    daily_inbound={c: round(q * inbound) for c, q in per_depot[d.depot_id].items() if q})
            for d in depots]


def _vehicles(rng: random.Random, ref: Reference, codes: list[str], zones: list[DrawnZone], depots: list[Depot],
              spec: Size) -> list[Vehicle]:
    """Trucks per district by population, from the nearest depot (every third from the next nearest); about
    40% hold a green-lane permit, and every district with an orange or red zone has at least one that does."""
    population = sum(ref.populations[c] for c in codes)
    closed = {z.zone.district_code for z in zones if z.zone.risk_level >= 3}
    vehicles: list[Vehicle] = []
    plates: set[str] = set()
    for code in codes:
        count = max(2, round(spec.vehicles * ref.populations[code] / population))
        centre = ref.districts[code].centroid
        nearest = sorted(depots, key=lambda d: (centre.distance(Point(d.lon, d.lat)), d.depot_id))
        for k in range(count):
            depot = nearest[1] if k % 3 == 2 and len(nearest) > 1 else nearest[0]
            kg, m3 = rng.choices(TRUCKS, [2, 3, 3, 1])[0]
            permit = rng.random() < 0.35 or (k == 0 and code in closed)
            plate = ""
            while not plate or plate in plates:
                plate = f"51{rng.choice('CDH')}-{rng.randint(100, 999)}.{rng.randint(10, 99)}"
            plates.add(plate)
            vehicles.append(Vehicle(f"truck-{code}-{k + 1:02}", plate, depot.depot_id, kg, m3, permit, "06:00",
                                    "18:00", 3 if kg <= 1500 else 2, code))
    return vehicles
