"""Field reports, alerts, CSV in and out, through the API on the real servers."""

import json
from datetime import UTC, datetime, timedelta

import httpx

from infra.processes import api_server
from services.domain.access import Role
from services.domain.events import ShortageAlert
from tests.conftest import free_port, wait_until

NOW = datetime.now(UTC)
WARD = "26740"  # Nguyễn Thái Bình, Quận 1 (760)


def as_(container, role: Role, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.tokens.issue(role, scope, NOW)}"}


def commune_row(client, code):
    rows = client.get("/api/v1/coverage", params={"level": "commune", "area_id": code}).json()
    return rows[0] if rows else None


def registered(client, point_id):
    return any(p["point_id"] == point_id for p in client.get("/api/v1/places").json()["sales_points"])


def test_a_registered_sales_point_reports_stock_for_itself_only(client, container, run_id):
    point = f"sp-{run_id}"
    body = {"point_id": point, "commune_code": WARD, "location": {"lon": 106.6960, "lat": 10.7690},
            "quantities": {"rice": 120.0, "water": 300.0}}
    own = as_(container, Role.SALES_POINT, point)
    unknown_point = client.post("/api/v1/stock", json=body, headers=own)
    assert unknown_point.status_code == 404 and point in unknown_point.text  # not in the register yet

    registration = {"point_id": point, "name": "Bách hóa Xanh Nguyễn Thái Bình", "commune_code": WARD,
                    "location": body["location"], "kind": "supermarket", "opens": "06:30", "closes": "21:00"}
    elsewhere = as_(container, Role.COMMUNE, "26734")  # another ward of Quận 1
    assert client.post("/api/v1/sales-points", json=registration, headers=elsewhere).status_code == 403
    assert client.post("/api/v1/sales-points", json=registration, headers=own).status_code == 403  # not an official
    bad_time = client.post("/api/v1/sales-points", json={**registration, "opens": "25:00"},
                           headers=as_(container, Role.COMMUNE, WARD))
    assert bad_time.status_code == 422 and bad_time.json()["detail"][0]["loc"][-1] == "opens"
    assert client.post("/api/v1/sales-points", json=registration,
                       headers=as_(container, Role.COMMUNE, WARD)).status_code == 202
    wait_until(lambda: registered(client, point))
    assert client.post("/api/v1/stock", json=body, headers=own).status_code == 202
    row = wait_until(lambda: (r := commune_row(client, WARD)) and r["stock"].get("rice", 0) >= 120 and r)
    assert row["stock"]["rice"] >= 120
    other = client.post("/api/v1/stock", json={**body, "point_id": "someone-else"}, headers=own)
    assert other.status_code == 403
    moved = client.post("/api/v1/stock", json={**body, "commune_code": "26734"}, headers=own)  # not its ward
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"][-1] == "commune_code"
    elsewhere = as_(container, Role.DISTRICT, "761")  # Quận 12's official naming one of its wards
    assert client.post("/api/v1/stock", json={**body, "commune_code": "26764"}, headers=elsewhere).status_code == 422
    unknown = client.post("/api/v1/stock", json={**body, "quantities": {"gold": 1}}, headers=own)
    assert unknown.status_code == 422 and "gold" in unknown.text


def test_prices_above_the_reference_open_a_price_alert(client, container):
    for n, price in enumerate([15_000, 26_000, 27_000]):  # rice, reference 15,000 VND/kg
        response = client.post("/api/v1/prices", json={"district_code": "761", "item_code": "rice",
                                                       "place": f"Chợ Tân Định {n}", "price_vnd": price})
        assert response.status_code == 202
    alerts = wait_until(lambda: [a for a in client.get("/api/v1/alerts/prices").json()
                                 if a["district_code"] == "761" and a["item_code"] == "rice"], timeout_s=30)
    assert alerts[0]["max_price_vnd"] == 27_000
    bad = client.post("/api/v1/prices", json={"district_code": "761", "item_code": "rice", "place": "x",
                                              "price_vnd": -5})
    assert bad.status_code == 422 and "price_vnd" in bad.text


def test_produce_offered_inside_a_zone_is_listed_for_buyers(client, container, run_id):
    body = {"commune_code": WARD, "location": {"lon": 106.6962, "lat": 10.7692}, "product": f"rau muống {run_id}",
            "quantity_kg": 250.0, "available_until": (NOW + timedelta(days=2)).isoformat(), "contact": "0909 000 000"}
    assert client.post("/api/v1/produce", json=body).status_code == 202
    offer = wait_until(lambda: [o for o in client.get("/api/v1/produce").json() if o["product"] == body["product"]])
    assert offer[0]["quantity_kg"] == 250.0 and offer[0]["carried_by"] is None
    elsewhere = as_(container, Role.COMMUNE, "27133")
    assert client.post("/api/v1/produce", json=body, headers=elsewhere).status_code == 403


def test_a_csv_upload_accepts_good_rows_and_names_the_bad_ones_once(client, container, run_id):
    ward = "27142"  # a Quận 3 ward no other test uses
    csv_text = ("commune_code,households,people,f0,elderly_alone\n"
                f"{ward},10,30,1,2\n"
                f"{ward},5,2,,\n"          # fewer people than households
                "99999,3,9,,\n"            # unknown commune
                f"{ward},7,20,,1\n")
    key = f"upload-{run_id}"
    headers = {"Content-Type": "text/csv", "Idempotency-Key": key}
    first = client.post("/api/v1/demand/csv", content=csv_text.encode(), headers=headers)
    assert first.status_code == 202, first.text
    result = first.json()
    assert result["accepted"] == 2 and [(r["row"], r["field"]) for r in result["rejected"]] == [
        (3, "people"), (4, "commune_code")]
    again = client.post("/api/v1/demand/csv", content=csv_text.encode(), headers=headers)  # a retried upload
    assert again.json()["accepted"] == 2
    row = wait_until(lambda: (r := commune_row(client, ward)) and r["households"] >= 17 and r)
    assert (row["households"], row["people"]) == (17, 50)  # counted once
    too_big = client.post("/api/v1/demand/csv", content=b"commune_code,households,people\n" + b"1" * 5_000_001,
                          headers={"Content-Type": "text/csv"})
    assert too_big.status_code == 413
    no_header = client.post("/api/v1/demand/csv", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert no_header.status_code == 422 and "missing columns" in no_header.text


def test_coverage_and_rollup_export_as_csv(client):
    coverage = client.get("/api/v1/coverage.csv", params={"level": "district"})
    assert coverage.status_code == 200 and coverage.headers["content-type"].startswith("text/csv")
    header, *lines = coverage.text.strip().splitlines()
    assert header.startswith("level,area_id,district_code") and lines
    rollup = client.get("/api/v1/rollup.csv").text.splitlines()
    assert rollup[0].startswith("level,code,name") and len(rollup) > 22


def test_the_alert_stream_sends_open_alerts_and_new_ones(settings, container, tmp_path, run_id):
    own = settings.model_copy(update={"api_port": free_port()})
    api = api_server(own, tmp_path / "api.log")
    base = f"http://{own.api_host}:{own.api_port}"
    token = container.tokens.issue(Role.COORDINATOR, "79", NOW)
    alert = ShortageAlert(event_id=f"a-{run_id}", occurred_at=datetime.now(UTC), alert_id=f"alert-{run_id}",
                          zone_id=f"z-{run_id}", item_code="rice", status="open", days_of_supply=0.4,
                          threshold_days=3.0, district_codes=["760"])
    seen: list[dict] = []
    try:
        with httpx.stream("GET", f"{base}/api/v1/alerts/stream", params={"token": token}, timeout=30) as stream:
            container.projections.shortage_alerts([alert])
            event = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "shortage":
                    seen.append(json.loads(line[5:]))
                    if any(a["alert_id"] == alert.alert_id for a in seen):
                        break
    finally:
        api.stop()
    assert any(a["alert_id"] == alert.alert_id and a["status"] == "open" for a in seen)
