"""Tokens on the real database: no token 401, wrong scope 403, tokens stored hashed, expiry and revocation."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from api import auth
from api.main import create_app
from api.ratelimit import Limits, RateLimits
from services.adapters import tables as t
from services.adapters.sheets import LOCAL
from services.bootstrap import bootstrap
from services.domain.access import Role

QUAN_1_WARD, QUAN_3_WARD = "26734", "27133"  # Bến Nghé (760), a ward of Quận 3 (770)
BODY = {"households": 2, "people": 5}


@pytest.fixture(scope="module")
def client(settings, container):
    with TestClient(create_app(bootstrap(settings, producer_name="api"))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_a_wrong_one_gets_401(client, container):
    assert client.get("/api/v1/coverage").status_code == 401
    assert client.get("/api/v1/coverage", headers={"Authorization": "Basic abc"}).status_code == 401
    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert client.get("/api/v1/coverage", headers=bearer(forged)).status_code == 401
    assert client.get("/api/v1/coverage", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/coverage", params={"token": token}).status_code == 200  # links and EventSource


def test_officials_act_inside_their_scope_only(client, container):
    now = datetime.now(UTC)
    district = container.tokens.issue(Role.DISTRICT, "760", now)
    commune = container.tokens.issue(Role.COMMUNE, QUAN_1_WARD, now)
    driver = container.tokens.issue(Role.DRIVER, "truck-1", now)
    assert client.post("/api/v1/demand", json={"commune_code": QUAN_1_WARD, **BODY},
                       headers=bearer(district)).status_code == 202
    refused = client.post("/api/v1/demand", json={"commune_code": QUAN_3_WARD, **BODY}, headers=bearer(district))
    assert refused.status_code == 403 and QUAN_3_WARD in refused.json()["detail"]
    assert client.post("/api/v1/demand", json={"commune_code": QUAN_1_WARD, **BODY},
                       headers=bearer(commune)).status_code == 202
    assert client.post("/api/v1/demand", json={"commune_code": "26737", **BODY},
                       headers=bearer(commune)).status_code == 403
    assert client.post("/api/v1/demand", json={"commune_code": QUAN_1_WARD, **BODY},
                       headers=bearer(driver)).status_code == 403
    rows = client.get("/api/v1/rollup", headers=bearer(district)).json()
    assert rows and {r["code"] if r["level"] == "district" else r["parent_code"] for r in rows} == {"760"}


def test_tokens_are_stored_hashed_and_expire_or_are_revoked(client, container):
    now = datetime.now(UTC)
    token = container.tokens.issue(Role.DRIVER, "truck-2", now, "volunteer", expires_at=now + timedelta(seconds=1))
    token_id, secret = token.split("_")[1], token.split("_", 2)[2]
    with container.engine.connect() as conn:
        stored = conn.execute(select(t.access_tokens).where(t.access_tokens.c.token_id == token_id)).one()
    assert secret not in str(tuple(stored)) and len(stored.secret_hash) == 64
    assert container.tokens.resolve(token, now) is not None
    assert container.tokens.resolve(token, now + timedelta(seconds=2)) is None  # expired
    lasting = container.tokens.issue(Role.COORDINATOR, "79", now)
    assert container.tokens.revoke(lasting.split("_")[1], now)
    auth._cache.clear()
    assert client.get("/api/v1/coverage", headers=bearer(lasting)).status_code == 401


def test_the_province_line_tops_the_coordinators_rollup_only(client, container):
    coordinator = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    rows = client.get("/api/v1/rollup", headers=bearer(coordinator)).json()
    province, districts = rows[0], [r for r in rows if r["level"] == "district"]
    assert province["level"] == "province" and province["code"] == "79" and len(districts) == 22
    assert province["households"] == sum(r["households"] or 0 for r in districts)
    official = container.tokens.issue(Role.DISTRICT, "760", datetime.now(UTC))
    assert all(r["level"] != "province" for r in client.get("/api/v1/rollup", headers=bearer(official)).json())


def test_officials_see_their_own_districts_zones_and_plans(client, container):
    official = container.tokens.issue(Role.DISTRICT, "770", datetime.now(UTC))
    zones = client.get("/api/v1/zones", headers=bearer(official)).json()["features"]
    assert all(f["properties"]["district_code"] == "770" for f in zones)
    assert client.get("/api/v1/zones", params={"district_code": "760"}, headers=bearer(official)).status_code == 403
    assert client.get("/api/v1/plans", params={"district_code": "760"}, headers=bearer(official)).status_code == 403
    commune = container.tokens.issue(Role.COMMUNE, QUAN_1_WARD, datetime.now(UTC))
    refused = client.post("/api/v1/plans/requests", json={"district_code": "760"}, headers=bearer(commune))
    assert refused.status_code == 403


def test_an_oversized_request_is_refused_with_413(client, container):
    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    huge = b'{"commune_code": "26734", "households": 1, "people": 2, "pad": "' + b"x" * 1_100_000 + b'"}'
    response = client.post("/api/v1/demand", content=huge,
                           headers={**bearer(token), "Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_rollup_shows_a_coverage_change_at_once(client, container):
    from services.domain.events import AreaCoverage

    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    ward = "26737"  # no other test writes its coverage

    def households() -> int | None:
        rows = client.get("/api/v1/rollup", headers=bearer(token)).json()
        return next((r["households"] for r in rows if r["code"] == ward), None)

    before = households()
    now = datetime.now(UTC)
    container.projections.coverage([AreaCoverage(
        event_id=f"cov-{ward}", occurred_at=now, level="commune", area_id=ward, district_code="760", zone_id=None,
        households=4242, people=9000, vulnerable={}, need={"rice": 3600.0}, stock={}, on_way={},
        days_of_supply={"rice": 0.0}, last_report_at=now, max_event_at=now)])
    assert before != 4242 and households() == 4242  # the cached answer was rebuilt


def test_metrics_count_requests_by_route_template_and_status(client, container):
    """`GET /metrics` (Prometheus text): one series per route template, not per id, with its status."""
    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    assert client.get("/api/v1/coverage").status_code == 401
    assert client.get("/api/v1/coverage", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/plans/no-such-plan", headers=bearer(token)).status_code == 404
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    lines = page.text.splitlines()

    def count(route: str, status: int) -> float:
        prefix = f'greenlane_http_requests_total{{method="GET",route="{route}",status="{status}"}} '
        return sum(float(line[len(prefix):]) for line in lines if line.startswith(prefix))

    assert count("/api/v1/coverage", 401) >= 1 and count("/api/v1/coverage", 200) >= 1
    assert count("/api/v1/plans/{plan_id}", 404) >= 1
    assert not any("no-such-plan" in line for line in lines)
    assert any(line.startswith("greenlane_http_request_seconds_bucket") for line in lines)


# The scope matrix ----------------------------------------------------------------------------------------------
# Every /api/v1 route that reads or writes district data, called about district A's data with a token of each role
# scoped inside A (the coordinator: A's province), then scoped elsewhere (district B, its ward, B's sales point and
# truck, another province's coordinator). Outside the scope the answer is 403, except:
#   FILTERED  lists without a district in the request answer 200 with the caller's own rows only (none of A's);
#   ROWS      a CSV upload answers 202 and refuses each row outside the scope, naming its field;
#   404       none: an unknown plan or stop is 404 for everyone, a known one outside the scope 403.
# A role the route is not for gets 403 inside its scope too. Sales points report prices anywhere (market watchers).
# Quận Bình Tân (the data every case is about), Quận 7 (where the other tokens are scoped): districts no other test
# plans in, since this world holds an approved plan, trucks and produce offers that a plan of theirs would take up.
A, B = "777", "778"
A_WARD, B_WARD = "27436", "27466"
OFFICIALS = (Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)
ROLES = tuple(Role)
FILTERED, ROWS, REFUSED = "filtered", "rows", "403"
SCOPE_EXEMPT = {("GET", "/api/v1/districts")}  # the province's district boundaries: public reference data


def inside(code: str) -> tuple[float, float]:
    from pathlib import Path

    from shapely.geometry import shape

    from services.adapters.geodata import read_units

    unit = next(u for u in read_units(Path(__file__).resolve().parents[2] / "infra" / "data" / "vn", ("79",))
                if u.code == code)
    point = shape(unit.boundary.to_geojson()).representative_point()
    return round(point.x, 5), round(point.y, 5)


def ring(lon: float, lat: float, half: float) -> list[list[float]]:
    return [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]


@pytest.fixture(scope="module")
def world(container, run_id):
    """District A's data (a zone, a registered sales point, a truck, an approved plan it drives, a proposal, coverage,
    alerts, a produce offer) and B's (a point, a truck, a zone with its alert), and a token of each role for both."""
    from datetime import time

    from services.adapters.geometry import point_to_db
    from services.domain.events import AreaCoverage, PriceAlert, ProduceOffered, ShortageAlert
    from services.domain.fleet import Vehicle
    from services.domain.geo import MultiPolygon, Point
    from services.domain.places import Depot, OpeningHours, SalesPoint, SalesPointKind
    from services.domain.zones import RiskLevel, Zone

    now = datetime.now(UTC)
    today = now.astimezone(LOCAL).date()
    w = {"now": now, "where": {A: inside(A), B: inside(B)}}
    for d, ward in ((A, A_WARD), (B, B_WARD)):
        lon, lat = w["where"][d]
        zone, point, truck = f"scope-{d}-{run_id}", f"scope-sp-{d}-{run_id}", f"scope-truck-{d}-{run_id}"
        container.zones.add(Zone(zone, f"Khu {d}", d, MultiPolygon.from_geojson(
            {"type": "Polygon", "coordinates": [ring(lon, lat, 0.001)]}), RiskLevel.HIGH, valid_from=now))
        container.places.add_sales_points([SalesPoint(point, f"Điểm bán {d}", SalesPointKind.SUPERMARKET,
                                                      Point(lon, lat), ward, OpeningHours(time(6), time(21)),
                                                      contact="0909")])
        depot = Depot(f"scope-dep-{d}-{run_id}", f"Kho {d}", Point(lon, lat), d, OpeningHours(time(5), time(20)))
        container.places.add_depots([depot])
        container.places.add_vehicles([Vehicle(truck, f"51C-{d}", 2000.0, 12.0, depot.depot_id, time(6), time(18),
                                               serves_district=d)])
        w[d] = {"zone": zone, "point": point, "truck": truck, "ward": ward}
        container.projections.shortage_alerts([ShortageAlert(
            event_id=f"alert-{zone}", occurred_at=now, alert_id=f"alert-{zone}", zone_id=zone, item_code="rice",
            status="open", days_of_supply=0.5, threshold_days=3.0, district_codes=[d])])
        container.projections.price_alerts([PriceAlert(
            event_id=f"price-{zone}", occurred_at=now, alert_id=f"price-{zone}", district_code=d, item_code="rice",
            status="open", reference_price_vnd=15_000, max_price_vnd=30_000, median_price_vnd=28_000, reports=3,
            places=["Chợ"])])
        container.projections.produce_offers([ProduceOffered(
            event_id=f"offer-{zone}", occurred_at=now, district_code=d, commune_code=ward, location=Point(lon, lat),
            product=f"rau {d}", quantity_kg=50.0, available_until=now + timedelta(days=1), contact="0912")])
        container.projections.coverage([AreaCoverage(
            event_id=f"cov-{level}-{area}", occurred_at=now, level=level, area_id=area, district_code=d,
            zone_id=zone if level == "zone" else None, households=10, people=30, vulnerable={}, need={"rice": 12.0},
            stock={}, on_way={}, days_of_supply={"rice": 0.0}, last_report_at=now, max_event_at=now)
            for level, area in (("commune", ward), ("district", d))])
    # B's alert comes after A's in the stream's first burst (A's zone has no coverage row: fewest days first)
    container.projections.coverage([AreaCoverage(
        event_id=f"cov-zone-{w[B]['zone']}", occurred_at=now, level="zone", area_id=w[B]["zone"], district_code=B,
        zone_id=w[B]["zone"], households=10, people=30, vulnerable={}, need={"rice": 12.0}, stock={}, on_way={},
        days_of_supply={"rice": 5.0}, last_report_at=now, max_event_at=now)])
    lon, lat = w["where"][A]
    w["plan"], w["proposal"] = f"plan-{A}-scope-{run_id}", f"plan-{A}-scope-next-{run_id}"
    with container.engine.begin() as conn:
        for plan_id, status, day in ((w["plan"], "approved", today), (w["proposal"], "proposed",
                                                                        today + timedelta(days=1))):
            conn.execute(insert(t.plans).values(
                plan_id=plan_id, district_code=A, request_event_id=f"req-{plan_id}", status=status, created_at=now,
                plan_day=day, snapshot_offsets={}, allocation={"quantities": []}, stats={}))
            conn.execute(insert(t.plan_stops).values(
                plan_id=plan_id, stop_id="s-1", order_id="o-1", vehicle_id=w[A]["truck"], trip=1, sequence=1,
                kind="drop", eta=now, kg=100.0, m3=1.0, items={"rice": 100.0}, zone_id=w[A]["zone"],
                commune_code=A_WARD, geom=point_to_db(Point(lon, lat))))
    scopes = {A: {Role.COORDINATOR: "79", Role.DISTRICT: A, Role.COMMUNE: A_WARD, Role.SALES_POINT: w[A]["point"],
                  Role.DRIVER: w[A]["truck"]},
              B: {Role.COORDINATOR: "74", Role.DISTRICT: B, Role.COMMUNE: B_WARD, Role.SALES_POINT: w[B]["point"],
                  Role.DRIVER: w[B]["truck"]}}
    w["tokens"] = {d: {role: container.tokens.issue(role, scope, now, f"scope {d}") for role, scope in s.items()}
                   for d, s in scopes.items()}
    return w


def _body_stock(w):
    lon, lat = w["where"][A]
    return {"point_id": w[A]["point"], "commune_code": A_WARD, "location": {"lon": lon, "lat": lat},
            "quantities": {"rice": 5.0}}


def _zone_body(w):
    return {"name": "Hẻm", "risk_level": 3, "boundary": {"type": "Polygon", "coordinates": [
        ring(*w["where"][A], 0.0004)]}}


def _has(key: str, value_of):  # a list answer holds A's row
    return lambda w, r: any(row.get(key) == value_of(w) for row in r.json())


ROUTES = [  # method, path (with placeholders), request kwargs builder, roles it is for, outside-scope kind, sees A
    ("GET", "/api/v1/coverage", lambda w: {"params": {"district_code": A}}, OFFICIALS, REFUSED,
     _has("district_code", lambda w: A)),
    ("GET", "/api/v1/coverage", lambda w: {"params": {"level": "commune", "area_id": A_WARD}}, OFFICIALS, FILTERED,
     _has("area_id", lambda w: A_WARD)),
    ("GET", "/api/v1/coverage.csv", lambda w: {"params": {"district_code": A}}, OFFICIALS, REFUSED,
     lambda w, r: f",{A}," in r.text),
    ("GET", "/api/v1/rollup", lambda w: {}, OFFICIALS, FILTERED, _has("code", lambda w: A_WARD)),
    ("GET", "/api/v1/rollup.csv", lambda w: {}, OFFICIALS, FILTERED, lambda w, r: f"\ncommune,{A_WARD}," in r.text),
    ("GET", "/api/v1/alerts/shortages", lambda w: {}, OFFICIALS, FILTERED, _has("zone_id", lambda w: w[A]["zone"])),
    ("GET", "/api/v1/alerts/prices", lambda w: {}, OFFICIALS, FILTERED, _has("district_code", lambda w: A)),
    ("GET", "/api/v1/alerts/stream", lambda w: {}, OFFICIALS, FILTERED, None),  # read by _first_event
    ("GET", "/api/v1/zones", lambda w: {"params": {"district_code": A}}, OFFICIALS, REFUSED,
     lambda w, r: w[A]["zone"] in r.text),
    ("GET", "/api/v1/places", lambda w: {}, OFFICIALS, FILTERED, lambda w, r: w[A]["point"] in r.text),
    ("GET", "/api/v1/produce", lambda w: {}, OFFICIALS, FILTERED, _has("district_code", lambda w: A)),
    ("GET", "/api/v1/plans/today", lambda w: {}, OFFICIALS, FILTERED, _has("district_code", lambda w: A)),
    ("GET", "/api/v1/plans", lambda w: {"params": {"district_code": A}}, OFFICIALS, REFUSED,
     _has("plan_id", lambda w: w["plan"])),
    ("GET", "/api/v1/plans/latest", lambda w: {"params": {"district_code": A}}, OFFICIALS, REFUSED, None),
    ("GET", "/api/v1/plans/{plan}", lambda w: {}, OFFICIALS, REFUSED, None),
    ("POST", "/api/v1/plans/{proposal}/approve", lambda w: {}, (Role.COORDINATOR, Role.DISTRICT), REFUSED, None),
    ("POST", "/api/v1/plans/requests", lambda w: {"json": {"district_code": A}}, (Role.COORDINATOR, Role.DISTRICT),
     REFUSED, None),
    ("GET", "/api/v1/plans/{plan}/vehicles/{truck}/sheet", lambda w: {},
     (Role.COORDINATOR, Role.DISTRICT, Role.DRIVER), REFUSED, None),
    ("GET", "/api/v1/plans/{plan}/vehicles/{truck}/sheet.pdf", lambda w: {},
     (Role.COORDINATOR, Role.DISTRICT, Role.DRIVER), REFUSED, None),
    ("POST", "/api/v1/plans/{plan}/vehicles/{truck}/link", lambda w: {}, (Role.COORDINATOR, Role.DISTRICT), REFUSED,
     None),
    ("POST", "/api/v1/deliveries", lambda w: {"json": {"plan_id": w["plan"], "stop_id": "s-1",
                                                       "quantities": {"rice": 100.0}}},
     (Role.COORDINATOR, Role.DISTRICT, Role.DRIVER), REFUSED, None),
    ("POST", "/api/v1/demand", lambda w: {"json": {"commune_code": A_WARD, **BODY}}, OFFICIALS, REFUSED, None),
    ("POST", "/api/v1/demand/csv", lambda w: {"content": f"commune_code,households,people\n{A_WARD},2,5\n".encode(),
                                              "headers": {"Content-Type": "text/csv"}}, OFFICIALS, ROWS, None),
    ("POST", "/api/v1/stock", lambda w: {"json": _body_stock(w)}, (Role.COORDINATOR, Role.DISTRICT, Role.SALES_POINT),
     REFUSED, None),
    ("POST", "/api/v1/prices", lambda w: {"json": {"district_code": A, "item_code": "rice", "place": "Chợ",
                                                   "price_vnd": 20_000}},
     (*OFFICIALS, Role.SALES_POINT), REFUSED, None),
    ("POST", "/api/v1/produce", lambda w: {"json": {
        "commune_code": A_WARD, "location": dict(zip(("lon", "lat"), w["where"][A], strict=True)), "product": "rau",
        "quantity_kg": 10.0, "available_until": (w["now"] + timedelta(days=1)).isoformat()}}, OFFICIALS, REFUSED, None),
    ("POST", "/api/v1/sales-points", lambda w: {"json": {
        "point_id": f"new-{w[A]['point']}", "name": "Điểm mới", "commune_code": A_WARD,
        "location": dict(zip(("lon", "lat"), w["where"][A], strict=True))}}, OFFICIALS, REFUSED, None),
    ("POST", "/api/v1/zones", lambda w: {"json": _zone_body(w)}, (Role.COORDINATOR, Role.DISTRICT), REFUSED, None),
    ("PUT", "/api/v1/zones/{zone}", lambda w: {"json": {k: v for k, v in _zone_body(w).items() if k != "name"}},
     (Role.COORDINATOR, Role.DISTRICT), REFUSED, None),
    ("POST", "/api/v1/zones/{zone}/lift", lambda w: {}, (Role.COORDINATOR, Role.DISTRICT), REFUSED, None),
]
ANYWHERE = {("POST", "/api/v1/prices"): (Role.SALES_POINT,)}  # roles whose reports are not bound to a district


def _url(path: str, w) -> str:
    return path.format(plan=w["plan"], proposal=w["proposal"], truck=w[A]["truck"], zone=w[A]["zone"])


def _first_event(client: TestClient, url: str, token: str) -> tuple[int, str]:
    """The status of an event stream and its first event (the stream stays open: read one, then hang up)."""
    with client.stream("GET", url, headers=bearer(token)) as response:
        if response.status_code != 200:
            return response.status_code, ""
        lines = []
        for line in response.iter_lines():
            if not line and lines:
                break
            lines.append(line)
        return 200, "\n".join(lines)


def test_the_scope_matrix_covers_every_api_route(client):
    routes = {(m.upper(), p) for p, operations in client.app.openapi()["paths"].items() if p.startswith("/api/v1")
              for m in operations}
    covered = {(m, p.replace("{plan}", "{plan_id}").replace("{proposal}", "{plan_id}")
                .replace("{truck}", "{vehicle_id}").replace("{zone}", "{zone_id}")) for m, p, *_ in ROUTES}
    assert routes - SCOPE_EXEMPT == covered, "add the new route to ROUTES (or, if it holds no district data, "\
                                             "to SCOPE_EXEMPT with the reason)"


@pytest.mark.parametrize(("method", "path", "request_of", "roles", "outside", "sees_a"), ROUTES,
                         ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_each_role_reaches_district_data_inside_its_scope_only(client, world, method, path, request_of, roles,
                                                               outside, sees_a):
    url = _url(path, world)
    for where in (A, B):
        for role in ROLES:
            token = world["tokens"][where][role]
            allowed = role in roles and (where == A or role in ANYWHERE.get((method, path), ()))
            if path.endswith("/stream"):
                status, first = _first_event(client, url, token)
                got = f"{status} {first[:200]}"
                if role not in roles or (where == B and role is Role.COORDINATOR):
                    assert status == 403, (role, where, got)
                elif where == A:
                    assert status == 200 and first.startswith("event: shortage"), (role, where, got)
                else:  # B's own alert comes first; A's would have come before it
                    assert status == 200 and world[B]["zone"] in first and world[A]["zone"] not in first, got
                continue
            kwargs = request_of(world)
            kwargs["headers"] = {**kwargs.get("headers", {}), **bearer(token)}
            response = client.request(method, url, **kwargs)
            got = (role.value, where, response.status_code, response.text[:300])
            if allowed:
                assert response.status_code in (200, 201, 202), got
                if sees_a is not None:
                    assert sees_a(world, response), got
                if outside == ROWS:
                    assert response.json()["accepted"] == 1, got
            elif role not in roles or outside == REFUSED or (role is Role.COORDINATOR and outside == FILTERED):
                assert response.status_code == 403, got
            elif outside == FILTERED:
                assert response.status_code == 200 and not sees_a(world, response), got
            else:  # ROWS: accepted nothing, the row refused naming its field
                body = response.json()
                assert response.status_code == 202 and body["accepted"] == 0, got
                assert body["rejected"][0]["field"] == "commune_code" and A_WARD in body["rejected"][0]["message"]


# Rate limits ---------------------------------------------------------------------------------------------------
class Clock:
    """The limits' clock, moved by the test (no waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def limited(settings, container):
    """An app with small limits on a clock of the test's own: 3 failed authentications a minute per address, 6
    submissions a minute per token in bursts of 2."""
    clock = Clock()
    app = create_app(bootstrap(settings, producer_name="api"), Limits(auth_failures=3, auth_failure_window_s=60,
                                                                      submissions_per_minute=6, submission_burst=2))
    app.state.limits = RateLimits(app.state.limits.limits, clock)
    with TestClient(app, client=("10.0.0.1", 50000)) as guesser, TestClient(app, client=("10.0.0.2", 50000)) as other:
        yield clock, guesser, other


def test_guessing_tokens_gets_an_address_429_until_its_window_passes(limited, container):
    clock, guesser, other = limited
    valid = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC))
    for n in range(3):  # in the header, in a link: both count
        wrong = {"headers": bearer(f"gl_{n:016x}_guess")} if n % 2 else {"params": {"token": f"guess-{n}"}}
        assert guesser.get("/api/v1/coverage", **wrong).status_code == 401
    clock.now += 30
    for attempt in ({"headers": bearer(valid)}, {"params": {"token": valid}}, {"headers": bearer("gl_x_y")}):
        refused = guesser.get("/api/v1/coverage", **attempt)  # even the valid token, until the window passes
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "30" and "failed authentications" in refused.json()["detail"]
    assert other.get("/api/v1/coverage", headers=bearer(valid)).status_code == 200  # another address
    assert guesser.get("/api/v1/coverage").status_code == 401  # no token at all: nothing guessed, nothing to count
    clock.now += 30  # the failures are a minute old: the address may try again, three more times
    assert guesser.get("/api/v1/coverage", headers=bearer(valid)).status_code == 200
    assert [guesser.get("/api/v1/coverage", headers=bearer("gl_x_y")).status_code for _ in range(3)] == [401] * 3
    assert guesser.get("/api/v1/coverage", headers=bearer(valid)).status_code == 429


def test_submissions_draw_from_a_bucket_per_token(limited, container):
    clock, _, client = limited
    district, commune = (container.tokens.issue(role, scope, datetime.now(UTC))
                         for role, scope in ((Role.DISTRICT, "760"), (Role.COMMUNE, QUAN_1_WARD)))
    body = {"commune_code": QUAN_1_WARD, **BODY}
    assert [client.post("/api/v1/demand", json=body, headers=bearer(district)).status_code
            for _ in range(2)] == [202, 202]
    refused = client.post("/api/v1/demand", json=body, headers=bearer(district))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    assert "at most 6 a minute, 2 at once" in refused.json()["detail"]
    stock = client.post("/api/v1/zones/no-such-zone/lift", headers=bearer(district))  # any POST or PUT counts
    assert stock.status_code == 429
    assert client.get("/api/v1/coverage", headers=bearer(district)).status_code == 200  # reads are not limited
    assert client.post("/api/v1/demand", json=body, headers=bearer(commune)).status_code == 202  # its own bucket
    clock.now += 10
    assert client.post("/api/v1/demand", json=body, headers=bearer(district)).status_code == 202
    assert client.post("/api/v1/demand", json=body, headers=bearer(district)).status_code == 429


def test_the_limits_default_to_the_settings_defaults():
    from api.main import limits_of
    from infra.settings import Settings

    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert limits_of(Settings.model_construct(**defaults)) == Limits()
