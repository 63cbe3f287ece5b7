"""Small builders of events for tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.domain.demand import DemandReport, VulnerableGroup
from services.domain.events import (
    DeliveryConfirmed,
    DeliveryPlanned,
    DemandSubmitted,
    PriceReported,
    StockReported,
    ZoneDeclared,
    ZoneLifted,
    ZoneRedrawn,
)
from services.domain.geo import MultiPolygon, Point
from services.domain.places import SalesPointStatus
from services.domain.zones import RiskLevel

T0 = datetime.now(UTC).replace(microsecond=0)  # "now", so freshness rules see recent reports
_ids = itertools.count()
BEN_NGHE, TAN_DINH, Q1 = "26740", "26734", "760"


def square(lon: float, lat: float, half: float) -> MultiPolygon:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]
    return MultiPolygon.from_geojson({"type": "Polygon", "coordinates": [ring]})


def demand(households: int = 10, people: int = 30, commune: str = BEN_NGHE, district: str = Q1,
           at: Point | None = None, zone_id: str | None = None, event_id: str | None = None,
           f0: int = 0) -> DemandSubmitted:
    report = DemandReport(commune_code=commune, households=households, people=people, location=at, zone_id=zone_id,
                          vulnerable={VulnerableGroup.F0: f0} if f0 else {})
    return DemandSubmitted(event_id=event_id or f"d{next(_ids)}", occurred_at=T0, district_code=district,
                           report=report)


def stock(point_id: str, quantities: dict[str, float], at: Point, delta: bool = False, commune: str = BEN_NGHE,
          status: SalesPointStatus = SalesPointStatus.OPEN, event_id: str | None = None,
          minutes: int = 0) -> StockReported:
    return StockReported(event_id=event_id or f"s{next(_ids)}", occurred_at=T0 + timedelta(minutes=minutes),
                         district_code=Q1, point_id=point_id, commune_code=commune, location=at,
                         quantities=quantities, is_delta=delta, status=status)


def planned(stop_id: str, quantities: dict[str, float], at: Point, point_id: str | None = None) -> DeliveryPlanned:
    return DeliveryPlanned(event_id=f"p{next(_ids)}", occurred_at=T0, district_code=Q1, plan_id="plan-1",
                           stop_id=stop_id, commune_code=BEN_NGHE, location=at, quantities=quantities,
                           point_id=point_id)


def confirmed(stop_id: str, quantities: dict[str, float], failed: str | None = None,
              point_id: str | None = None) -> DeliveryConfirmed:
    return DeliveryConfirmed(event_id=f"c{next(_ids)}", occurred_at=T0, district_code=Q1, plan_id="plan-1",
                             stop_id=stop_id, quantities=quantities, failed_reason=failed, point_id=point_id)


def price(item: str, vnd: int, minutes: int = 0, place: str = "Chợ Bến Thành") -> PriceReported:
    return PriceReported(event_id=f"pr{next(_ids)}", occurred_at=T0 + timedelta(minutes=minutes),
                         district_code=Q1, item_code=item, place=place, price_vnd=vnd)


def declared(zone_id: str, boundary: MultiPolygon, risk: RiskLevel = RiskLevel.VERY_HIGH) -> ZoneDeclared:
    return ZoneDeclared(event_id=f"z{next(_ids)}", occurred_at=T0, district_code=Q1, zone_id=zone_id, name=zone_id,
                        boundary=boundary, risk_level=risk)


def redrawn(zone_id: str, version: int, boundary: MultiPolygon) -> ZoneRedrawn:
    return ZoneRedrawn(event_id=f"z{next(_ids)}", occurred_at=T0, district_code=Q1, zone_id=zone_id,
                       version=version, boundary=boundary, risk_level=RiskLevel.HIGH)


def lifted(zone_id: str, version: int) -> ZoneLifted:
    return ZoneLifted(event_id=f"z{next(_ids)}", occurred_at=T0, district_code=Q1, zone_id=zone_id, version=version)
