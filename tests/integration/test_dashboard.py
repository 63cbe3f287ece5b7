"""The dashboard in a real browser: Debian's headless Chromium, driven over the Chrome DevTools protocol, against the
real API process and PostGIS.

It asks for a token (box, or ?token= in its address), then draws the zones coloured by days of supply over the
district boundaries, the places, today's routes, the open alerts (then one opened and one resolved, as they arrive
on the stream) and the roll-up; it switches between Vietnamese and English; it fits a phone's width; no request
leaves for another host; forgetting the token leaves no data on screen. The screenshots are kept in
.local/screenshots/ (and the first written to docs/img/dashboard.png with GREENLANE_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from infra.processes import ManagedProcess, api_server
from optimizer.travel import travel_times
from services.domain.access import Role
from services.domain.events import AreaCoverage, ShortageAlert
from services.domain.fleet import Vehicle
from services.domain.geo import MultiPolygon, Point
from services.domain.places import Checkpoint, Depot, OpeningHours, SalesPoint, SalesPointKind
from services.domain.zones import RiskLevel, Zone
from services.planner import Planner
from tests.conftest import ROOT, free_port, wait_until

NOW = datetime.now(UTC)
HOURS = OpeningHours(clock(5), clock(20))
QUAN_6, QUAN_6_WARD, QUAN_1 = "775", "27346", "760"  # Quận 6 (no other test plans it), its Phường 14; Quận 1
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name in createElementNS, never fetched


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})


def coverage(level: str, area_id: str, district: str, zone_id: str | None, people: int, rice: float,
             reported: datetime | None = NOW) -> AreaCoverage:
    need = {"rice": people * 0.4, "water": people * 2.0}
    return AreaCoverage(event_id=f"cov-{level}-{area_id}", occurred_at=NOW, level=level, area_id=area_id,
                        district_code=district, zone_id=zone_id, households=people // 3, people=people,
                        vulnerable={}, need=need, stock={"rice": rice, "water": people * 20.0}, on_way={},
                        days_of_supply={"rice": rice / need["rice"], "water": 10.0}, last_report_at=reported,
                        max_event_at=reported)


class DevTools:
    """A page of a headless Chromium, spoken to over the DevTools protocol (JSON over a websocket)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Poll `expression` until it is truthy (while a page loads, `document.body` may not exist yet)."""
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (error) {{ return null; }} }})()"
        return wait_until(lambda: self.evaluate(guarded), timeout_s=timeout_s, interval_s=0.2)

    def navigate(self, url: str) -> None:
        """Open `url` and wait until its document (not the one before it) has loaded."""
        self.evaluate("window.previousDocument = true")
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !window.previousDocument")

    def requests(self) -> list[dict[str, Any]]:
        return [e["params"]["request"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium, installed by infra/scripts/chromium.sh when missing; fail, never skip, without it."""
    result = subprocess.run(["bash", str(ROOT / "infra" / "scripts" / "chromium.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"chromium could not be installed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def seeded(container, run_id) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Zones in Quận 6 and Quận 1 with coverage, places, a depot with stock and trucks, today's plan, an alert."""
    ids = {"red": f"dash-red-{run_id}", "green": f"dash-green-{run_id}", "yellow": f"dash-yellow-{run_id}",
           "grey": f"dash-grey-{run_id}",
           "depot": f"dash-depot-{run_id}", "checkpoint": f"dash-cp-{run_id}", "point": f"dash-sp-{run_id}",
           "truck": "51C-555.55", "alert": f"dash-alert-{run_id}"}  # the session starts with no vehicles
    container.zones.add(Zone(ids["red"], "Khu phố Chợ Bình Tây", QUAN_6, square(106.6350, 10.7500, 0.0025),
                             RiskLevel.VERY_HIGH, valid_from=NOW))
    container.zones.add(Zone(ids["green"], "Cư xá Phú Lâm", QUAN_6, square(106.6280, 10.7520, 0.0015),
                             RiskLevel.LOW, valid_from=NOW))
    container.zones.add(Zone(ids["yellow"], "Phường 4 – Hậu Giang", QUAN_6, square(106.6440, 10.7510, 0.0015),
                             RiskLevel.HIGH, valid_from=NOW))
    container.zones.add(Zone(ids["grey"], "Chung cư Bến Vân Đồn", QUAN_1, square(106.7000, 10.7700, 0.0012),
                             RiskLevel.HIGH, valid_from=NOW))
    container.projections.coverage([
        coverage("zone", ids["red"], QUAN_6, ids["red"], 3000, 480.0),  # rice for 0.4 days
        coverage("zone", ids["green"], QUAN_6, ids["green"], 900, 3240.0),  # 9 days
        coverage("zone", ids["yellow"], QUAN_6, ids["yellow"], 1200, 2400.0),  # 5 days
        coverage("district", QUAN_6, QUAN_6, None, 5100, 4896.0),
        coverage("commune", QUAN_6_WARD, QUAN_6, None, 3000, 480.0),
    ])
    container.places.add_checkpoints([Checkpoint(ids["checkpoint"], ids["red"], "Chốt Tháp Mười",
                                                 Point(106.6320, 10.7500), handover_minutes=15)])
    container.places.add_sales_points([
        SalesPoint(ids["point"], "Co.opmart Hậu Giang", SalesPointKind.SUPERMARKET, Point(106.6400, 10.7530),
                   QUAN_6_WARD, HOURS),
        SalesPoint(f"{ids['point']}-2", "Bách hoá Xanh Bình Tiên", SalesPointKind.CONVENIENCE,
                   Point(106.6370, 10.7470), QUAN_6_WARD, HOURS),
        SalesPoint(f"{ids['point']}-3", "Xe bán hàng lưu động", SalesPointKind.MOBILE, Point(106.6345, 10.7505),
                   QUAN_6_WARD, HOURS),
    ])
    depot = Depot(ids["depot"], "Kho Quận 6", Point(106.6365, 10.7395), QUAN_6, HOURS)
    container.places.add_depots([depot])
    container.places.set_depot_stock(depot.depot_id, {"rice": 9000.0, "water": 50_000.0})
    container.places.add_vehicles([Vehicle(ids["truck"], "51C-555.55", 2500.0, 12.0, depot.depot_id, clock(6),
                                           clock(18), green_lane_permit=True, serves_district=QUAN_6),
                                   Vehicle("51C-555.56", "51C-555.56", 1500.0, 8.0, depot.depot_id, clock(6),
                                           clock(18), green_lane_permit=True, serves_district=QUAN_6)])
    planner = Planner(container.items, travel_times(None), 2.0, container.driving_hours, container.target_days)
    plan = planner.plan(container.plan_store.snapshot(QUAN_6, NOW, {}), f"dash-req-{run_id}", NOW)
    assert container.plan_store.save(plan) and any(r.stops for r in plan.routes.routes)
    ids["plan"] = plan.plan_id
    container.projections.shortage_alerts([ShortageAlert(
        event_id=f"open-{ids['alert']}", occurred_at=NOW - timedelta(minutes=5), alert_id=ids["alert"],
        zone_id=ids["red"], item_code="rice", status="open", days_of_supply=0.4, threshold_days=3.0,
        district_codes=[QUAN_6])])
    return ids


@pytest.fixture(scope="module")
def api(settings, container, tmp_path_factory) -> Iterator[tuple[str, ManagedProcess]]:  # type: ignore[no-untyped-def]
    mine = settings.model_copy(update={"api_port": free_port()})
    server = api_server(mine, tmp_path_factory.mktemp("api") / "api.log")
    yield f"http://{mine.api_host}:{mine.api_port}", server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory) -> Iterator[DevTools]:  # type: ignore[no-untyped-def]
    profile = tmp_path_factory.mktemp("chromium")
    process = subprocess.Popen(
        [chromium_path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=(profile / "chromium.log").open("w"))
    try:
        port_file = profile / "DevToolsActivePort"
        wait_until(lambda: port_file.exists() and port_file.read_text().strip(), timeout_s=30)
        port = port_file.read_text().split()[0]
        pages = wait_until(lambda: [p for p in httpx.get(f"http://127.0.0.1:{port}/json/list").json()
                                    if p["type"] == "page"], timeout_s=30)
        with connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
            page = DevTools(socket)
            for domain in ("Page", "Runtime", "Network", "Log"):
                page.send(f"{domain}.enable")
            page.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1,
                      mobile=False)
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def vi_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # Vietnamese groups thousands with dots


def texts(page: DevTools, selector: str) -> list[str]:
    return list(page.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector)}), e => "
                              "e.textContent.trim())"))


def test_the_dashboard_draws_the_live_picture_in_both_languages_from_this_origin_only(
        api, browser, seeded, container, run_id):  # type: ignore[no-untyped-def]
    origin, server = api
    page = browser
    token = container.tokens.issue(Role.COORDINATOR, "79", datetime.now(UTC), "dashboard test")

    # Without a token the page asks for one; a wrong one is refused with a message.
    page.navigate(f"{origin}/dashboard")
    page.wait_for("document.body.dataset.state === 'needs-token'")
    assert page.evaluate("document.getElementById('token-form').hidden") is False
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.navigate(f"{origin}/dashboard?token=gl_nothing_wrong")
    page.wait_for("document.body.dataset.state === 'needs-token'")
    assert page.evaluate("document.getElementById('token-message').dataset.i18n") == "token_rejected"

    # The token typed into the box is kept in localStorage and sent as a Bearer header.
    page.evaluate("document.getElementById('token-input').focus()")
    page.send("Input.insertText", text=token)
    page.evaluate("document.getElementById('token-form').requestSubmit()")
    page.wait_for("document.body.dataset.state === 'ready'")
    assert page.evaluate("localStorage.getItem('greenlane.token')") == token

    # ?token= in the page's address works too, and is taken out of the address bar.
    page.evaluate("localStorage.clear()")
    page.navigate(f"{origin}/dashboard?token={token}")
    page.wait_for("document.body.dataset.state === 'ready' && "
                  "document.getElementById('stream-status').dataset.status === 'live'")
    assert "token" not in page.evaluate("location.href")
    assert page.evaluate("document.body.dataset.failed") == "", page.evaluate("errors.textContent")

    # The map: district boundaries, the zones coloured by their smallest days of supply, places and the route.
    assert page.evaluate("document.querySelectorAll('#layer-districts path[data-district-code]').length") == 22
    band = "document.querySelector('#layer-zones path[data-zone-id=\"{}\"]').dataset.band"
    assert page.evaluate(band.format(seeded["red"])) == "critical"  # 0.4 days of rice
    assert page.evaluate(band.format(seeded["green"])) == "ok"  # 9 days
    assert page.evaluate(band.format(seeded["yellow"])) == "watch"  # 5 days
    assert page.evaluate(band.format(seeded["grey"])) == "unknown"  # no coverage yet
    fill = "getComputedStyle(document.querySelector('#layer-zones path[data-zone-id=\"{}\"]')).fill"
    assert page.evaluate(fill.format(seeded["red"])) == "rgb(215, 25, 28)"
    assert page.evaluate(fill.format(seeded["grey"])) == "rgb(184, 184, 184)"
    zone_box = page.evaluate(f"(() => {{ const r = document.querySelector('[data-zone-id=\"{seeded['red']}\"]')"
                             ".getBoundingClientRect(); return [r.width, r.height]; })()")
    assert zone_box[0] > 10 and zone_box[1] > 10  # drawn at a visible size, not a dot
    for selector in (f"[data-point-id='{seeded['point']}']", f"[data-depot-id='{seeded['depot']}']",
                     f"[data-checkpoint-id='{seeded['checkpoint']}']"):
        assert page.evaluate(f"document.querySelectorAll(\"#map {selector}\").length") == 1, selector
    plan = container.plan_store.get(seeded["plan"])
    stops = [s for s in plan["stops"] if s["vehicle_id"] == seeded["truck"]]
    points = page.evaluate(f"document.querySelector('#layer-routes polyline[data-vehicle-id=\"{seeded['truck']}\"]')"
                           ".getAttribute('points')")
    assert len(points.split()) >= len(stops) >= 1
    assert page.evaluate(f"document.querySelectorAll('#layer-routes .stop[data-vehicle-id=\"{seeded['truck']}\"]')"
                         ".length") == len(stops)
    assert page.evaluate(f"document.querySelector('#route-list [data-vehicle-id=\"{seeded['truck']}\"]') !== null")

    # The legend, the alert feed and the roll-up table.
    assert texts(page, "#legend h3") == ["Số ngày đủ hàng"]
    assert page.evaluate("Array.from(document.querySelectorAll('#legend .bands li'), e => e.dataset.band)") == [
        "critical", "low", "watch", "ok", "unknown"]
    assert texts(page, "#alerts-title") == ["Cảnh báo thiếu hàng"]
    entry = f"#alert-feed li[data-alert-id='{seeded['alert']}']"
    entry_text = " ".join(texts(page, entry))
    assert "Khu phố Chợ Bình Tây" in entry_text and "Gạo" in entry_text and "Quận 6" in entry_text
    assert page.evaluate(f"document.querySelector(\"{entry}\").dataset.status") == "open"

    def rollup_as_shown() -> list[dict[str, Any]] | None:
        """The roll-up from the API once the page shows the same (other processes may be writing coverage)."""
        rows = httpx.get(f"{origin}/api/v1/rollup", headers={"Authorization": f"Bearer {token}"}).json()
        page.evaluate("window.greenlaneDashboard.refresh(false, ['rollup'])")
        shown = page.evaluate("Array.from(document.querySelectorAll('#rollup tbody tr:not(.commune)'), "
                              "r => [r.dataset.code, r.dataset.missingReport, r.children[1].textContent])")
        expected = [[r["code"], str(r["missing_report"]).lower(),
                     "–" if r["households"] is None else vi_number(r["households"])]
                    for r in rows if r["level"] != "commune"]
        return rows if shown == expected else None

    rollup = wait_until(rollup_as_shown, timeout_s=30)
    districts = {r["code"]: r for r in rollup if r["level"] == "district"}
    assert len(districts) == 22 and districts[QUAN_6]["missing_report"] is False
    quan_6 = texts(page, f"#rollup tr.district[data-code='{QUAN_6}'] > *")
    assert quan_6[0].endswith("Quận 6") and quan_6[1:4] == ["1.700", "5.100", "2,4"] and quan_6[4] == "Đã báo cáo"
    (province,) = [r for r in rollup if r["level"] == "province"]  # a coordinator's roll-up starts with the city
    assert texts(page, "#rollup tbody tr:first-child > *")[:3] == [
        "Thành phố Hồ Chí Minh", vi_number(province["households"]), vi_number(province["people"])]
    assert page.evaluate(f"document.querySelector(\"#rollup tr[data-code='{QUAN_6_WARD}']\").hidden") is True
    page.evaluate(f"document.querySelector(\"#rollup tr[data-code='{QUAN_6}'] button.expand\").click()")
    assert page.evaluate(f"document.querySelector(\"#rollup tr[data-code='{QUAN_6_WARD}']\").hidden") is False

    screenshot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
    png = base64.b64decode(screenshot["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    kept = ROOT / ".local" / "screenshots" / "dashboard.png"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(png)
    size = page.send("Page.getLayoutMetrics")["cssContentSize"]
    whole = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
    (kept.parent / "dashboard-full.png").write_bytes(base64.b64decode(whole["data"]))
    if os.environ.get("GREENLANE_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(kept, ROOT / "docs" / "img" / "dashboard.png")

    # A new alert reaches the open page through the stream, newest first. (Other tests' alerts may be open too:
    # the count is checked against where it stood.)
    open_before = int(page.evaluate("document.getElementById('kpi-alerts').textContent"))
    live = f"dash-live-{run_id}"
    publish_alert(container, ShortageAlert(
        event_id=f"open-{live}", occurred_at=datetime.now(UTC), alert_id=live, zone_id=seeded["green"],
        item_code="water", status="open", days_of_supply=0.8, threshold_days=3.0, district_codes=[QUAN_6]))
    page.wait_for(f"document.querySelector('#alert-feed li')?.dataset.alertId === '{live}'", timeout_s=30)
    assert "Nước uống" in texts(page, "#alert-feed li")[0]
    assert page.evaluate("document.getElementById('kpi-alerts').textContent") == str(open_before + 1)
    publish_alert(container, ShortageAlert(  # rice reached the red zone: its alert resolves, and moves to the top
        event_id=f"resolve-{seeded['alert']}", occurred_at=datetime.now(UTC), alert_id=seeded["alert"],
        zone_id=seeded["red"], item_code="rice", status="resolved", days_of_supply=4.2, threshold_days=3.0,
        district_codes=[QUAN_6]))
    page.wait_for(f"document.querySelector('#alert-feed li')?.dataset.alertId === '{seeded['alert']}'", timeout_s=30)
    assert page.evaluate("document.querySelector('#alert-feed li').dataset.status") == "resolved"
    assert "Đã đủ lại" in texts(page, "#alert-feed li")[0]
    assert page.evaluate("document.getElementById('kpi-alerts').textContent") == str(open_before)

    # English: every label switches, and the choice is kept.
    keys = page.evaluate("[Object.keys(window.GREENLANE_I18N.vi).sort(), Object.keys(window.GREENLANE_I18N.en).sort()]")
    assert keys[0] == keys[1] and len(keys[0]) > 100
    page.evaluate("document.querySelector('[data-lang=en]').click()")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert texts(page, "#legend h3") == ["Days of supply"] and texts(page, "#alerts-title") == ["Shortage alerts"]
    unswitched = page.evaluate("Array.from(document.querySelectorAll('[data-i18n]')).filter(e => "
                               "e.textContent !== window.GREENLANE_I18N.en[e.dataset.i18n]).map(e => e.dataset.i18n)")
    assert unswitched == []
    assert texts(page, "#rollup thead th")[1] == "Households"
    assert "Rice" in " ".join(texts(page, entry))
    assert texts(page, f"#rollup tr.district[data-code='{QUAN_6}'] > *")[1:4] == ["1,700", "5,100", "2.4"]
    page.navigate(f"{origin}/dashboard")
    page.wait_for("document.body.dataset.state === 'ready'")
    assert texts(page, "#legend h3") == ["Days of supply"]  # the language and the token were kept
    page.evaluate("document.querySelector('[data-lang=vi]').click()")

    # On a phone: one column, nothing wider than the screen.
    page.send("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
    page.wait_for("document.documentElement.scrollWidth <= 390")
    phone = page.send("Page.captureScreenshot", format="png")
    (kept.parent / "dashboard-phone.png").write_bytes(base64.b64decode(phone["data"]))
    widths = page.evaluate("['#map', '#alert-feed', '.kpis'].map(s => document.querySelector(s)"
                           ".getBoundingClientRect().right)")
    assert all(0 < w <= 390 for w in widths), widths
    page.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    # Nothing left this origin: every request the page made went to the API, the data with the Bearer header
    # and the stream with ?token=; the page and its assets hold no other http(s) address.
    requests = page.requests()
    assert requests
    outside = [r["url"] for r in requests if not r["url"].startswith(("data:", origin + "/"))]
    assert outside == []
    calls = [r for r in requests if urlsplit(r["url"]).path.startswith("/api/v1/")
             and urlsplit(r["url"]).path != "/api/v1/alerts/stream"]
    assert all(r["headers"].get("Authorization", "").startswith("Bearer ") and "token=" not in r["url"]
               for r in calls)
    assert {urlsplit(r["url"]).path for r in calls if r["headers"]["Authorization"] == f"Bearer {token}"} == {
        "/api/v1/districts", "/api/v1/zones", "/api/v1/places", "/api/v1/plans/today", "/api/v1/alerts/shortages",
        "/api/v1/rollup"}
    assert any(urlsplit(r["url"]).path == "/api/v1/alerts/stream" and f"token={token}" in r["url"]
               for r in requests)
    for asset in ("/dashboard", "/dashboard/assets/dashboard.js", "/dashboard/assets/i18n.js",
                  "/dashboard/assets/dashboard.css"):
        response = httpx.get(origin + asset)  # no token needed for the page itself
        assert response.status_code == 200 and "default-src 'none'" in response.headers["content-security-policy"]
        addresses = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", response.text))
        assert addresses <= {SVG_NAMESPACE}, (asset, addresses)
    refused = "the server responded with a status of 401"  # the wrong token, at the start
    problems = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
                    and refused not in e["params"]["entry"]["text"])]
    assert problems == [], problems
    assert server.process.poll() is None

    # Forgetting the token leaves a page that asks for one and shows no data.
    page.evaluate("window.previousDocument = true; document.getElementById('token-forget').click()")
    page.wait_for("!window.previousDocument && document.body.dataset.state === 'needs-token'")
    assert page.evaluate("[localStorage.getItem('greenlane.token'), "
                         "document.querySelectorAll('#layer-zones path').length]") == [None, 0]


def publish_alert(container, alert: ShortageAlert) -> None:  # type: ignore[no-untyped-def]
    """What the streams worker's sink does with an alert from the shortage-alerts topic: the API's stream
    follows this projection."""
    container.projections.shortage_alerts([alert])

