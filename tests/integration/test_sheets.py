"""Route sheets on the real PostGIS: a stored plan's vehicle sheet as HTML and PDF, who may see it, and day-long
volunteer links that stop working when they expire."""

from __future__ import annotations

import io
import time as clock
from datetime import UTC, datetime, time, timedelta
from html import escape
from urllib.parse import parse_qs, urlparse

import pytest
import segno
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import insert, select

from api import auth
from api.main import create_app
from api.sheets import QR_ERROR
from infra.processes import optimizer_worker
from services.adapters import tables as t
from services.adapters.geometry import point_to_db
from services.adapters.sheets import LOCAL
from services.bootstrap import bootstrap
from services.domain.access import Role
from services.domain.events import AreaCoverage, PlanRequested, ProduceOffered
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, Depot, OpeningHours, SalesPoint, SalesPointKind
from services.domain.zones import RiskLevel, Zone
from tests.conftest import wait_until
from tests.unit.test_sheets import qr_matrix_from_svg

TAN_DINH = "26734"  # Phường Tân Định, a ward of Quận 1 (760)
GATE = Point(106.6960, 10.7725)
SHOP = Point(106.6970, 10.7880)


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(settings, container):
    with TestClient(create_app(bootstrap(settings, producer_name="api"))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def plan(container, run_id):
    """A stored plan of Quận 1 for today: truck A hands over at a red zone's checkpoint, picks produce up there and
    drops at a shop in a green zone, then makes a second trip; truck B has one stop."""
    now = datetime.now(UTC)
    today = now.astimezone(LOCAL).date()
    red, green = f"sheet-red-{run_id}", f"sheet-green-{run_id}"
    container.zones.add(Zone(red, "Chợ Bến Thành", "760", square(106.6981, 10.7725, 0.002), RiskLevel.VERY_HIGH,
                             valid_from=now))
    container.zones.add(Zone(green, "Khu phố Đa Kao", "760", square(106.6970, 10.7880, 0.002), RiskLevel.LOW,
                             valid_from=now))
    checkpoint = Checkpoint(f"sheet-cp-{run_id}", red, "Chốt Lê Lợi", GATE, handover_minutes=15)
    container.places.add_checkpoints([checkpoint])
    container.places.add_sales_points([SalesPoint(f"sheet-sp-{run_id}", "Bách hóa Xanh Đa Kao",
                                                  SalesPointKind.SUPERMARKET, SHOP, TAN_DINH,
                                                  OpeningHours(time(6), time(21)), contact="0909 123 456")])
    offer = f"sheet-offer-{run_id}"
    container.projections.produce_offers([ProduceOffered(
        event_id=offer, occurred_at=now, district_code="760", commune_code=TAN_DINH, location=GATE,
        product="rau muống", quantity_kg=120.0, available_until=now + timedelta(days=1), contact="0912 000 111")])
    depot = Depot(f"sheet-dep-{run_id}", "Chợ đầu mối Bình Điền", Point(106.61, 10.70), "760",
                  OpeningHours(time(5), time(20)))
    container.places.add_depots([depot])
    a, b, idle = (f"sheet-{k}-{run_id}" for k in ("a", "b", "idle"))
    container.places.add_vehicles([Vehicle(v, f"51C-{i}00.0{i}", 2000.0, 12.0, depot.depot_id, time(6), time(18),
                                           green_lane_permit=True, serves_district="760")
                                   for i, v in enumerate((a, b, idle), start=1)])
    plan_id = f"plan-760-sheet-{run_id}"

    def at(hour: int, minute: int) -> datetime:
        return datetime.combine(today, time(hour, minute), LOCAL).astimezone(UTC)

    def stop(stop_id: str, vehicle: str, trip: int, seq: int, kind: str, eta: datetime, kg: float,
             items: dict[str, float], where: Point, zone: str | None, checkpoint_id: str | None = None,
             order: str | None = None) -> dict:
        return {"plan_id": plan_id, "stop_id": stop_id, "order_id": order or f"{depot.depot_id}>{zone}:dry",
                "vehicle_id": vehicle, "trip": trip, "sequence": seq, "kind": kind, "eta": eta, "kg": kg, "m3": 1.0,
                "items": items, "zone_id": zone, "commune_code": TAN_DINH, "checkpoint_id": checkpoint_id,
                "geom": point_to_db(where)}

    stops = [  # inserted out of order on purpose
        stop("a-3", a, 1, 3, "drop", at(9, 45), 300.0, {"rice": 250.0, "water": 50.0}, SHOP, green),
        stop("a-1", a, 1, 1, "drop", at(8, 30), 480.0, {"rice": 400.0, "noodles": 1000.0}, GATE, red,
             checkpoint.checkpoint_id),
        stop("a-4", a, 2, 1, "drop", at(12, 10), 30.0, {"medicine_kit": 100.0}, GATE, red, checkpoint.checkpoint_id,
             order=f"{depot.depot_id}>{red}:medicine"),
        stop("a-2", a, 1, 2, "pickup", at(9, 5), 120.0, {}, GATE, red, checkpoint.checkpoint_id, order=offer),
        stop("b-1", b, 1, 1, "drop", at(10, 0), 200.0, {"rice": 200.0}, SHOP, green),
    ]
    with container.engine.begin() as conn:
        conn.execute(insert(t.plans).values(
            plan_id=plan_id, district_code="760", request_event_id=f"sheet-req-{run_id}", status="proposed",
            created_at=now, plan_day=today, snapshot_offsets={}, allocation={"quantities": []}, stats={}))
        conn.execute(insert(t.plan_stops).values(stops))
    return {"plan_id": plan_id, "a": a, "b": b, "idle": idle}


def sheet_url(plan: dict, vehicle: str, suffix: str = "sheet") -> str:
    return f"/api/v1/plans/{plan['plan_id']}/vehicles/{vehicle}/{suffix}"


def test_a_driver_gets_the_own_sheet_as_html_and_pdf(client, container, plan):
    token = container.tokens.issue(Role.DRIVER, plan["a"], datetime.now(UTC), "driver")
    page = client.get(sheet_url(plan, plan["a"]), headers=bearer(token))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    positions = [html.index(f'id="stop-{s}"') for s in ("a-1", "a-2", "a-3", "a-4")]
    assert positions == sorted(positions) and html.index("Chuyến 2") < positions[3]
    for local in ("08:30", "09:05", "09:45", "12:10"):
        assert f'<span class="eta">{local}</span>' in html
    assert "b-1" not in html  # the other truck's stop
    first = html[positions[0]:positions[1]]
    assert "Chốt Lê Lợi" in first and "15 phút / min" in first and "Chợ Bến Thành" in first
    assert "Phường Tân Định" in first  # the ward's name from the admin units
    assert "Gạo / Rice: 400 kg" in first and "Mì gói / Instant noodles: 1 000 pack" in first
    assert "rau muống" in html[positions[1]:positions[2]] and "0912 000 111" in html[positions[1]:positions[2]]
    shop = html[positions[2]:positions[3]]
    assert "Bách hóa Xanh Đa Kao" in shop and 'href="tel:0909123456"' in shop and "Khu phố Đa Kao" in shop
    assert f"https://www.openstreetmap.org/directions?to={SHOP.lat:.6f}%2C{SHOP.lon:.6f}" in shop
    assert "Chợ đầu mối Bình Điền" in html and "51C-100.01" in html and "06:00" in html
    # Asked with a header, the QR code points at the sheet without the token (it is not the volunteer link).
    live = f"http://testserver{sheet_url(plan, plan['a'])}"
    assert qr_matrix_from_svg(html) == [list(r) for r in
                                        segno.make(live, error=QR_ERROR).matrix_iter(scale=1, border=4)]
    assert token not in html

    for response in (client.get(sheet_url(plan, plan["a"]), params={"format": "pdf"}, headers=bearer(token)),
                     client.get(sheet_url(plan, plan["a"], "sheet.pdf"), headers=bearer(token))):
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
        assert "Chốt Lê Lợi" in text and "1.  08:30" in text and "Bách hóa Xanh Đa Kao 0909 123 456" in text


def test_scope_decides_who_sees_a_sheet(client, container, plan):
    now = datetime.now(UTC)
    driver = container.tokens.issue(Role.DRIVER, plan["a"], now)
    idle_driver = container.tokens.issue(Role.DRIVER, plan["idle"], now)
    assert client.get(sheet_url(plan, plan["a"])).status_code == 401
    refused = client.get(sheet_url(plan, plan["b"]), headers=bearer(driver))
    assert refused.status_code == 403 and plan["b"] in refused.json()["detail"]
    assert client.get(sheet_url(plan, plan["b"], "sheet.pdf"), headers=bearer(driver)).status_code == 403
    assert client.get(f"/api/v1/plans/no-such-plan/vehicles/{plan['a']}/sheet",
                      headers=bearer(driver)).status_code == 404
    assert client.get(sheet_url(plan, plan["idle"]), headers=bearer(idle_driver)).status_code == 404  # no stops
    for role, scope, expected in ((Role.DISTRICT, "760", 200), (Role.COORDINATOR, "79", 200),
                                  (Role.DISTRICT, "770", 403), (Role.COORDINATOR, "01", 403),
                                  (Role.COMMUNE, TAN_DINH, 403), (Role.SALES_POINT, "sp-1", 403)):
        official = container.tokens.issue(role, scope, now)
        got = client.get(sheet_url(plan, plan["b"]), headers=bearer(official))
        assert got.status_code == expected, (role, scope, got.text)


def test_a_volunteer_link_works_today_and_its_qr_code_is_that_link(client, container, plan):
    now = datetime.now(UTC)
    district = container.tokens.issue(Role.DISTRICT, "760", now)
    assert client.post(sheet_url(plan, plan["a"], "link"),
                       headers=bearer(container.tokens.issue(Role.DRIVER, plan["a"], now))).status_code == 403
    assert client.post(sheet_url(plan, plan["a"], "link"),
                       headers=bearer(container.tokens.issue(Role.DISTRICT, "770", now))).status_code == 403
    assert client.post(sheet_url(plan, plan["idle"], "link"), headers=bearer(district)).status_code == 404
    issued = client.post(sheet_url(plan, plan["a"], "link"), headers=bearer(district))
    assert issued.status_code == 201
    body = issued.json()
    expires = datetime.fromisoformat(body["expires_at"])
    midnight = datetime.combine(now.astimezone(LOCAL).date() + timedelta(days=1), time(0), LOCAL)
    assert expires == midnight and expires.utcoffset() == timedelta(hours=7)
    url = urlparse(body["url"])
    assert url.path == sheet_url(plan, plan["a"]) and set(parse_qs(url.query)) == {"token"}
    principal = container.tokens.resolve(parse_qs(url.query)["token"][0], now)
    assert principal and principal.role is Role.DRIVER and principal.scope == plan["a"]
    assert principal.expires_at == midnight

    page = client.get(body["url"])  # no header: the token rides in the link
    assert page.status_code == 200 and "Chốt Lê Lợi" in page.text
    assert qr_matrix_from_svg(page.text) == [list(r) for r in
                                             segno.make(body["url"], error=QR_ERROR).matrix_iter(scale=1, border=4)]
    assert client.get(body["pdf_url"]).status_code == 200
    other = body["url"].replace(plan["a"], plan["b"])
    assert client.get(other).status_code == 403  # the link's token is for this vehicle only


def test_an_expired_link_is_refused(client, container, plan):
    now = datetime.now(UTC)
    soon = container.tokens.issue(Role.DRIVER, plan["a"], now, "volunteer", expires_at=now + timedelta(seconds=1.5))
    past = container.tokens.issue(Role.DRIVER, plan["a"], now, "volunteer", expires_at=now - timedelta(minutes=1))
    auth._cache.clear()
    assert client.get(sheet_url(plan, plan["a"]), params={"token": soon}).status_code == 200
    assert client.get(sheet_url(plan, plan["a"]), params={"token": past}).status_code == 401
    clock.sleep(max(0.0, (now + timedelta(seconds=1.6) - datetime.now(UTC)).total_seconds()))
    assert client.get(sheet_url(plan, plan["a"]), params={"token": soon}).status_code == 401  # cached, still refused
    auth._cache.clear()
    assert client.get(sheet_url(plan, plan["a"]), params={"token": soon}).status_code == 401
    assert client.get(sheet_url(plan, plan["a"], "sheet.pdf"), params={"token": soon}).status_code == 401


def plan_of(engine, request_event_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(t.plans.c.plan_id).where(t.plans.c.request_event_id == request_event_id)).scalar()


def test_every_vehicle_of_a_plan_made_by_the_optimizer_gets_its_sheet(client, container, own, run_id, tmp_path):
    settings, topics = own
    now = datetime.now(UTC)
    district = "774"  # Quận 5: no other test plans it
    red, green = f"q5-red-{run_id}", f"q5-green-{run_id}"
    container.zones.add(Zone(red, "Chợ Kim Biên", district, square(106.6560, 10.7510, 0.0015), RiskLevel.VERY_HIGH,
                             valid_from=now))
    container.zones.add(Zone(green, "Khu phố Nguyễn Trãi", district, square(106.6700, 10.7560, 0.0015),
                             RiskLevel.LOW, valid_from=now))
    gate = Checkpoint(f"q5-cp-{run_id}", red, "Chốt Hải Thượng Lãn Ông", Point(106.6540, 10.7510), 20)
    container.places.add_checkpoints([gate])

    def picture(zone: str, people: int) -> AreaCoverage:
        need = {"rice": people * 0.4, "water": people * 2.0}
        return AreaCoverage(event_id=f"cov-{zone}", occurred_at=now, level="zone", area_id=zone,
                            district_code=district, zone_id=zone, households=people // 3, people=people,
                            vulnerable={"elderly_alone": people // 30}, need=need, stock={}, on_way={},
                            days_of_supply={"rice": 0.0, "water": 0.0}, last_report_at=now, max_event_at=now)

    container.projections.coverage([picture(red, 2000), picture(green, 1000)])
    depot = Depot(f"q5-dep-{run_id}", "Kho Quận 5", Point(106.6600, 10.7450), district, OpeningHours(time(5), time(20)))
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 3000.0, "water": 20_000.0})
    trucks = [f"q5-truck-{run_id}-{i}" for i in range(2)]
    container.places.add_vehicles([Vehicle(v, f"51D-{i}", 2000.0, 12.0, depot.depot_id, time(6), time(18),
                                           green_lane_permit=True, serves_district=district)
                                   for i, v in enumerate(trucks)])
    request = PlanRequested(event_id=f"q5-req-{run_id}", occurred_at=now, district_code=district, reasons=["x"])
    container.publisher.publish(topics.plan_requests, district, request)
    worker = optimizer_worker(settings, tmp_path / "optimizer.log")
    try:
        plan_id = wait_until(lambda: plan_of(container.engine, request.event_id), timeout_s=90)
    finally:
        worker.stop()
    with container.engine.connect() as conn:
        stored = conn.execute(select(t.plan_stops.c.stop_id, t.plan_stops.c.vehicle_id, t.plan_stops.c.trip,
                                     t.plan_stops.c.sequence, t.plan_stops.c.checkpoint_id)
                              .where(t.plan_stops.c.plan_id == plan_id)).all()
    assert stored and any(s.checkpoint_id == gate.checkpoint_id for s in stored)
    official = container.tokens.issue(Role.DISTRICT, district, now)
    for truck in trucks:
        mine = sorted((s for s in stored if s.vehicle_id == truck), key=lambda s: (s.trip, s.sequence))
        url = f"/api/v1/plans/{plan_id}/vehicles/{truck}/sheet"
        page = client.get(url, headers=bearer(official))
        if not mine:
            assert page.status_code == 404
            continue
        assert page.status_code == 200
        positions = [page.text.index(f'id="stop-{escape(s.stop_id)}"') for s in mine]
        assert positions == sorted(positions) and page.text.count('<li class="stop') == len(mine)
        if any(s.checkpoint_id for s in mine):
            assert "Chốt Hải Thượng Lãn Ông" in page.text and "20 phút / min" in page.text
        pdf = client.get(url + ".pdf", headers=bearer(official))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 1
