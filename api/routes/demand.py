"""Demand: communes and districts submit households and needs; coordinators read the live totals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, status

from api.auth import PrincipalDep
from api.deps import ContainerDep
from api.schemas import DemandAccepted, DemandCreate
from services.domain.access import Role
from services.domain.commands import SubmitDemand
from services.domain.demand import DemandReport, ItemNeed
from services.domain.geo import Point
from services.handlers import submit_demand

router = APIRouter(prefix="/api/v1/demand", tags=["demand"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=DemandAccepted)
def post_demand(body: DemandCreate, container: ContainerDep, principal: PrincipalDep,
                idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> DemandAccepted:
    """Accept one demand report; it is on Kafka when this returns. Retries with the same id count once.
    Commune officials submit for their commune, district officials for their district's communes."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)
    if container.admin.has_commune(body.commune_code):
        principal.require_commune(body.commune_code, container.admin)
    if body.event_id and idempotency_key and body.event_id != idempotency_key:
        raise HTTPException(422, detail=[{"loc": ["body", "event_id"], "type": "value_error",
                                          "msg": "differs from the Idempotency-Key header"}])
    report = DemandReport(
        commune_code=body.commune_code, households=body.households, people=body.people,
        vulnerable=dict(body.vulnerable), needs=tuple(ItemNeed(n.item_code, n.quantity_per_day) for n in body.needs),
        relief_bags=body.relief_bags, zone_id=body.zone_id,
        location=Point(body.location.lon, body.location.lat) if body.location else None)
    command = SubmitDemand(event_id=body.event_id or idempotency_key or str(uuid.uuid4()),
                           occurred_at=body.occurred_at or datetime.now(UTC), report=report)
    event = submit_demand(command, container.admin, container.items, container.publisher, container.topics)
    return DemandAccepted(event_id=event.event_id, district_code=event.district_code)
