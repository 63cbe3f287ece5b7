"""A coordinator approves a plan: its drops become deliveries on their way (DeliveryPlanned events), which the
coverage picture counts at once. Approving twice publishes the same events, which the streams fold once.

A revision of plans being driven: the drops it carried over are on their way already and are not published again;
open drops of the revised plans it left out are called off (a failed delivery with the reason), so the picture
stops counting them as on the way."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .adapters.plans import PlanNotFound, PlanStore
from .domain.access import Principal, Role
from .domain.admin import AdminCatalogue
from .domain.events import DeliveryConfirmed, DeliveryPlanned, Event
from .domain.geo import Point
from .ports import EventPublisher
from .topics import Topics


def approve_plan(plan_id: str, principal: Principal, store: PlanStore, admin: AdminCatalogue,
                 publisher: EventPublisher, topics: Topics, now: datetime) -> dict[str, Any]:
    plan = store.get(plan_id)
    if plan is None:
        raise PlanNotFound(plan_id)
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    principal.require_district(plan["district_code"], admin)
    # The events first: a plan whose events cannot be built is refused before it is marked approved.
    deliveries: list[tuple[str, Event]] = [(plan["district_code"], e) for e in planned_deliveries(plan, now)]
    called_off: list[tuple[str, Event]] = [(plan["district_code"], DeliveryConfirmed(
        event_id=_left_out_id(plan_id, delivery_plan, stop_id), occurred_at=now,
        district_code=plan["district_code"], plan_id=delivery_plan, stop_id=stop_id, quantities={},
        failed_reason=f"left out of revision {plan_id}"))
        for delivery_plan, stop_id in (store.left_out(plan_id, plan["revises"]) if plan["revises"] else [])]
    approved = store.approve(plan_id, principal.label or principal.token_id, now)
    if deliveries or called_off:
        publisher.publish_many(topics.deliveries, deliveries + called_off)
    return {**approved, "deliveries_published": len(deliveries), "called_off": len(called_off)}


def planned_deliveries(plan: Mapping[str, Any], now: datetime) -> list[DeliveryPlanned]:
    """One event per new drop of a stored plan: the coverage picture counts these goods as on their way
    (carried-over drops are on their way already, under the plan that first sent them)."""
    return [DeliveryPlanned(
        event_id=f"{plan['plan_id']}:{stop['stop_id']}", occurred_at=now, district_code=plan["district_code"],
        plan_id=plan["plan_id"], stop_id=stop["stop_id"], commune_code=stop["commune_code"] or "",
        location=Point(stop["lon"], stop["lat"]), quantities=dict(stop["items"]), zone_id=stop["zone_id"])
        for stop in plan["stops"] if stop["kind"] == "drop" and stop["items"] and not stop["delivery_plan_id"]]


def _left_out_id(plan_id: str, delivery_plan: str, stop_id: str) -> str:
    """The same id each time a revision calls the drop off (event ids hold at most 128 characters)."""
    digest = hashlib.sha256(f"{plan_id}|{delivery_plan}|{stop_id}".encode()).hexdigest()[:40]
    return f"left-out:{digest}"
