"""Plans: today's plan per district with its routes, history, a plan with the reason for every unserved order,
approval by a coordinator, and asking for a new plan now."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from api.auth import OfficialDep, PrincipalDep
from api.deps import ContainerDep
from api.schemas import Text
from services.adapters.plans import PlanConflict, PlanNotFound
from services.adapters.views import routes_by_vehicle
from services.domain.access import Role
from services.domain.events import PlanRequested
from services.plan_approval import approve_plan

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
District = Annotated[str, Query(pattern=r"^\d{3}$")]
PlanId = Annotated[Text, Path(max_length=160)]


class PlanRequest(BaseModel):
    district_code: str = Field(pattern=r"^\d{3}$")
    reason: Text = Field(default="requested by a coordinator", max_length=200)


@router.get("/today")
def plans_today(container: ContainerDep, principal: OfficialDep) -> list[dict[str, Any]]:
    """Each district's plan for today (the approved one, else the newest proposal) with routes per vehicle."""
    plans = container.views.plans_of_day(datetime.now(LOCAL).date())
    return [p for p in plans if principal.may_see_district(p["district_code"], container.admin)]


@router.get("")
def plan_history(container: ContainerDep, principal: OfficialDep, district_code: District) -> list[dict[str, Any]]:
    principal.require_district(district_code, container.admin)
    return container.plan_store.history(district_code)


@router.get("/latest")
def latest_plan(container: ContainerDep, principal: OfficialDep, district_code: District) -> dict[str, Any]:
    principal.require_district(district_code, container.admin)
    plan = container.plan_store.latest(district_code)
    if plan is None:
        raise HTTPException(404, detail=f"no plan for district {district_code} yet")
    return _with_routes(plan)


@router.get("/{plan_id}")
def get_plan(plan_id: PlanId, container: ContainerDep, principal: OfficialDep) -> dict[str, Any]:
    """A plan: allocation with shortfall reasons, routes per vehicle, and every unserved order with its reason."""
    plan = container.plan_store.get(plan_id)
    if plan is None:
        raise HTTPException(404, detail=f"no plan {plan_id}")
    principal.require_district(plan["district_code"], container.admin)
    return _with_routes(plan)


@router.post("/{plan_id}/approve")
def approve(plan_id: PlanId, container: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    """Approve a proposal; its drops go on their way (counted as goods on the way in the coverage picture)."""
    try:
        return approve_plan(plan_id, principal, container.plan_store, container.admin, container.publisher,
                            container.topics, datetime.now(UTC))
    except PlanNotFound:
        raise HTTPException(404, detail=f"no plan {plan_id}") from None
    except PlanConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None


@router.post("/requests", status_code=status.HTTP_202_ACCEPTED)
def request_plan(body: PlanRequest, container: ContainerDep, principal: PrincipalDep) -> dict[str, str]:
    """Ask the optimizer workers for a fresh plan of a district now."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    principal.require_district(body.district_code, container.admin)
    event = PlanRequested(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC),
                          district_code=body.district_code, reasons=[body.reason])
    container.publisher.publish(container.topics.plan_requests, body.district_code, event)
    return {"event_id": event.event_id, "district_code": body.district_code, "status": "requested"}


def _with_routes(plan: dict[str, Any]) -> dict[str, Any]:
    routes = routes_by_vehicle(plan.pop("stops"))
    return {**plan, "routes": [{"vehicle_id": v, "stops": s} for v, s in routes.items()]}
