"""Reports from the field, checked and published as events: stock from sales points, deliveries confirmed by
drivers, prices from market watchers, produce offered from inside zones. Nothing here changes state directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from .adapters import tables as t
from .domain.access import Principal, Role
from .domain.admin import AdminCatalogue
from .domain.errors import InvalidValue, UnknownReference
from .domain.events import DeliveryConfirmed, PriceReported, ProduceOffered, SalesPointRegistered, StockReported
from .domain.items import Catalogue
from .ports import EventPublisher
from .topics import Topics

E = TypeVar("E", StockReported, PriceReported, ProduceOffered, DeliveryConfirmed, SalesPointRegistered)


class StopNotFound(LookupError):
    pass


class StopNotApproved(Exception):
    pass


class SalesPointNotFound(LookupError):
    """Stock from a sales point that is not in the register (sales_points): it would count goods nobody can find."""


class Reports:
    def __init__(self, admin: AdminCatalogue, items: Catalogue, engine: Engine, publisher: EventPublisher,
                 topics: Topics) -> None:
        self.admin, self.items, self.engine, self.publisher, self.topics = admin, items, engine, publisher, topics

    def _district_of(self, commune: str) -> str:
        district = self.admin.district_of(commune)
        if district is None:
            raise UnknownReference("commune_code", commune)
        return district

    def _items(self, quantities: dict[str, Any], field: str = "quantities") -> None:
        for code in quantities:
            if code not in self.items:
                raise UnknownReference(field, code)

    def register_point(self, event: SalesPointRegistered, principal: Principal) -> SalesPointRegistered:
        """Officials register the sales points of their commune or district (a mobile point for a zone, a market
        stall reopened); the streams worker writes the register."""
        principal.require_role(Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)
        self._district_of(event.commune_code)
        principal.require_commune(event.commune_code, self.admin)
        return self._publish(self.topics.places, event)

    def stock(self, event: StockReported, principal: Principal) -> StockReported:
        """A point reports for itself, or its district's officials for it: the scope is where the point is
        registered, so no report can move a point's stock into another commune or district."""
        self._district_of(event.commune_code)
        principal.require_point(event.point_id, event.district_code, self.admin)
        registered = self._registered_commune(event.point_id)
        if registered is None:
            raise SalesPointNotFound(f"unknown sales point {event.point_id!r}: register it before it reports stock")
        if registered != event.commune_code:
            raise InvalidValue("commune_code", f"sales point {event.point_id} is registered in commune {registered}, "
                                               f"not {event.commune_code}")
        self._items(event.quantities)
        return self._publish(self.topics.stock, event)

    def price(self, event: PriceReported, principal: Principal) -> PriceReported:
        if event.district_code not in self.admin.units:
            raise UnknownReference("district_code", event.district_code)
        self._items({event.item_code: 1}, "item_code")
        if principal.role is not Role.SALES_POINT:  # market watchers at sales points report anywhere
            principal.require_district(event.district_code, self.admin)
        return self._publish(self.topics.prices, event)

    def produce(self, event: ProduceOffered, principal: Principal) -> ProduceOffered:
        self._district_of(event.commune_code)
        principal.require_commune(event.commune_code, self.admin)
        return self._publish(self.topics.produce, event)

    def delivery(self, plan_id: str, stop_id: str, quantities: dict[str, float], failed_reason: str | None,
                 event_id: str, occurred_at: datetime, principal: Principal,
                 point_id: str | None = None) -> DeliveryConfirmed:
        """A driver confirms a drop of an approved plan on their own vehicle (officials may do it for them). A drop
        a revision carried over is confirmed under the plan that first sent it (the goods' key in the ledger).
        Goods handed to a registered point of the plan's district (`point_id`) join that point's stock."""
        p, s = t.plans, t.plan_stops
        with self.engine.connect() as conn:
            row = conn.execute(select(p.c.status, p.c.district_code, s.c.vehicle_id, s.c.delivery_plan_id)
                               .join(s, s.c.plan_id == p.c.plan_id)
                               .where(p.c.plan_id == plan_id, s.c.stop_id == stop_id)).first()
        if row is None:
            raise StopNotFound(f"no stop {stop_id} in plan {plan_id}")
        principal.require_vehicle(row.vehicle_id, row.district_code, self.admin)
        if row.status != "approved":
            raise StopNotApproved(f"plan {plan_id} is {row.status}: only approved plans are driven"
                                  + (" (open the vehicle's newest sheet)" if row.status == "revised" else ""))
        self._items(quantities)
        if point_id is not None:
            self._handover_point(point_id, row.district_code)
        event = DeliveryConfirmed(event_id=event_id, occurred_at=occurred_at, district_code=row.district_code,
                                  plan_id=row.delivery_plan_id or plan_id, stop_id=stop_id, quantities=quantities,
                                  failed_reason=failed_reason, point_id=point_id)
        return self._publish(self.topics.deliveries, event)

    def _handover_point(self, point_id: str, district: str) -> None:
        """A point goods are handed to: registered, and in the plan's district (whose ledger keeps its stock)."""
        commune = self._registered_commune(point_id)
        if commune is None:
            raise SalesPointNotFound(f"unknown sales point {point_id!r}: register it before goods are handed to it")
        if self.admin.district_of(commune) != district:
            raise UnknownReference("point_id", f"{point_id} is not in district {district}, the plan's district")

    def _registered_commune(self, point_id: str) -> str | None:
        """The commune of a sales point in the register; None if it is not registered."""
        with self.engine.connect() as conn:
            return conn.execute(select(t.sales_points.c.commune_code)
                                .where(t.sales_points.c.point_id == point_id)).scalar()

    def _publish(self, topic: str, event: E) -> E:
        self.publisher.publish(topic, event.district_code, event)
        return event
