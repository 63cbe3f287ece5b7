"""Tokens on the real database: no token 401, wrong scope 403, tokens stored hashed, expiry and revocation."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import auth
from api.main import create_app
from services.adapters import tables as t
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
