"""Reports from the field: sales points report stock and open/paused status, drivers confirm drops, market
watchers report prices, communes offer produce from inside zones. Each becomes an event on Kafka (202)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, status
from pydantic import AwareDatetime, BaseModel, Field

from api.auth import OfficialDep, PrincipalDep
from api.deps import ContainerDep
from api.schemas import PointIn, Text
from services.domain.access import Role
from services.domain.events import PriceReported, ProduceOffered, SalesPointRegistered, StockReported
from services.domain.geo import Point
from services.domain.places import SalesPointKind, SalesPointStatus
from services.reports import SalesPointNotFound, StopNotApproved, StopNotFound

router = APIRouter(prefix="/api/v1", tags=["field reports"])
IdempotencyKey = Annotated[str | None, Header(max_length=128)]


class Accepted(BaseModel):
    event_id: str
    district_code: str
    status: str = "accepted"


class StockIn(BaseModel):
    point_id: Text = Field(min_length=1, max_length=64)
    commune_code: str = Field(pattern=r"^\d{5}$")
    location: PointIn
    kind: SalesPointKind = SalesPointKind.SUPERMARKET
    status: SalesPointStatus = SalesPointStatus.OPEN
    quantities: dict[Text, Annotated[float, Field(ge=0, le=10_000_000)]] = Field(max_length=50)
    is_delta: bool = Field(default=False, description="true: quantities add to the last report; false: a snapshot")
    occurred_at: AwareDatetime | None = None


class DeliveryIn(BaseModel):
    plan_id: Text = Field(min_length=1, max_length=160)
    stop_id: Text = Field(min_length=1, max_length=200)
    quantities: dict[Text, Annotated[float, Field(ge=0, le=10_000_000)]] = Field(default_factory=dict, max_length=50)
    failed_reason: Text | None = Field(default=None, min_length=1, max_length=300)
    occurred_at: AwareDatetime | None = None
    point_id: Text | None = Field(default=None, min_length=1, max_length=64,
                                 description="the registered point of the plan's district the goods were handed to "
                                             "(a zone's distribution point); its next stock report counts what is "
                                             "left of them. Omitted: handed to the zone's team")


class PriceIn(BaseModel):
    district_code: str = Field(pattern=r"^\d{3}$")
    item_code: Text = Field(min_length=1, max_length=40)
    place: Text = Field(min_length=1, max_length=200)
    price_vnd: int = Field(gt=0, lt=100_000_000)
    occurred_at: AwareDatetime | None = None


class ProduceIn(BaseModel):
    commune_code: str = Field(pattern=r"^\d{5}$")
    location: PointIn
    product: Text = Field(min_length=1, max_length=120)
    quantity_kg: float = Field(gt=0, le=1_000_000)
    available_until: AwareDatetime
    contact: Text = Field(default="", max_length=200)


class SalesPointIn(BaseModel):
    point_id: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=200)
    commune_code: str = Field(pattern=r"^\d{5}$")
    location: PointIn
    kind: SalesPointKind = SalesPointKind.SUPERMARKET
    opens: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time, HH:MM")
    closes: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    contact: Text = Field(default="", max_length=200)


def _event_id(key: str | None) -> str:
    return key or str(uuid.uuid4())


@router.post("/sales-points", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def register_sales_point(body: SalesPointIn, container: ContainerDep, principal: PrincipalDep,
                         idempotency_key: IdempotencyKey = None) -> Accepted:
    """A coordinator or an official of its district or commune registers a sales point (again, to change its
    details); it may report stock once the register shows it (`GET /api/v1/places`)."""
    district = container.admin.district_of(body.commune_code) or ""
    event = container.reports.register_point(SalesPointRegistered(
        event_id=_event_id(idempotency_key), occurred_at=datetime.now(UTC), district_code=district,
        point_id=body.point_id, name=body.name, commune_code=body.commune_code,
        location=Point(body.location.lon, body.location.lat), kind=body.kind, opens=body.opens, closes=body.closes,
        contact=body.contact), principal)
    return Accepted(event_id=event.event_id, district_code=event.district_code)


@router.post("/stock", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def report_stock(body: StockIn, container: ContainerDep, principal: PrincipalDep,
                 idempotency_key: IdempotencyKey = None) -> Accepted:
    """A sales point in the register reports its stock (a snapshot, or a delta) and whether it is open; 404 for a
    point that is not registered. Officials of its district may report for it; commune officials report demand."""
    principal.require_role(Role.SALES_POINT, Role.COORDINATOR, Role.DISTRICT)
    district = container.admin.district_of(body.commune_code) or ""
    try:
        event = container.reports.stock(StockReported(
            event_id=_event_id(idempotency_key), occurred_at=body.occurred_at or datetime.now(UTC),
            district_code=district, point_id=body.point_id, commune_code=body.commune_code,
            location=Point(body.location.lon, body.location.lat), kind=body.kind, quantities=dict(body.quantities),
            is_delta=body.is_delta, status=body.status), principal)
    except SalesPointNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return Accepted(event_id=event.event_id, district_code=event.district_code)


@router.post("/deliveries", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def confirm_delivery(body: DeliveryIn, container: ContainerDep, principal: PrincipalDep,
                     idempotency_key: IdempotencyKey = None) -> Accepted:
    """A driver confirms the quantities dropped at a stop, or its failure with the reason."""
    if not body.quantities and body.failed_reason is None:
        raise HTTPException(422, detail=[{"loc": ["body", "quantities"], "type": "value_error",
                                          "msg": "give the quantities dropped, or a failed_reason"}])
    try:
        event = container.reports.delivery(body.plan_id, body.stop_id, dict(body.quantities), body.failed_reason,
                                           _event_id(idempotency_key), body.occurred_at or datetime.now(UTC),
                                           principal, point_id=body.point_id)
    except (StopNotFound, SalesPointNotFound) as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except StopNotApproved as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return Accepted(event_id=event.event_id, district_code=event.district_code)


@router.post("/prices", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def report_price(body: PriceIn, container: ContainerDep, principal: PrincipalDep,
                 idempotency_key: IdempotencyKey = None) -> Accepted:
    event = container.reports.price(PriceReported(
        event_id=_event_id(idempotency_key), occurred_at=body.occurred_at or datetime.now(UTC),
        district_code=body.district_code, item_code=body.item_code, place=body.place, price_vnd=body.price_vnd),
        principal)
    return Accepted(event_id=event.event_id, district_code=event.district_code)


@router.post("/produce", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def offer_produce(body: ProduceIn, container: ContainerDep, principal: PrincipalDep,
                  idempotency_key: IdempotencyKey = None) -> Accepted:
    """Farmers or communes inside a zone offer produce for sale outside it."""
    district = container.admin.district_of(body.commune_code) or ""
    event = container.reports.produce(ProduceOffered(
        event_id=_event_id(idempotency_key), occurred_at=datetime.now(UTC), district_code=district,
        commune_code=body.commune_code, location=Point(body.location.lon, body.location.lat), product=body.product,
        quantity_kg=body.quantity_kg, available_until=body.available_until, contact=body.contact), principal)
    return Accepted(event_id=event.event_id, district_code=event.district_code)


@router.get("/produce")
def list_produce(container: ContainerDep, principal: OfficialDep) -> list[dict[str, Any]]:
    """Offers still available, with the truck and time of the planned pickup when a plan carries them (officials
    see their district's)."""
    return [o for o in container.views.produce_offers(datetime.now(UTC))
            if principal.may_see_district(o["district_code"], container.admin)]
