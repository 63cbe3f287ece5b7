"""Zones and places: declare, redraw or lift a zone from a GeoJSON polygon (the change goes to Kafka as an event);
list zones as a GeoJSON FeatureCollection with their live days of supply; the districts and the places on the map."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from api.auth import OfficialDep, PrincipalDep
from api.deps import ContainerDep
from api.schemas import Text
from services.domain.access import Role
from services.domain.zones import RiskLevel

router = APIRouter(prefix="/api/v1", tags=["zones"])
GEOJSON = "application/geo+json"
ZoneId = Annotated[Text, Path(max_length=64)]


class Geometry(BaseModel):
    type: Text = Field(description="Polygon or MultiPolygon, in lon/lat (WGS 84)")
    coordinates: list[Any]


class ZoneDeclare(BaseModel):
    zone_id: Text | None = Field(default=None, max_length=64,
                                 description="lower-case letters, digits and dashes; generated if absent")
    name: Text = Field(min_length=1, max_length=200)
    risk_level: RiskLevel = Field(description="1 new normal · 2 low · 3 high · 4 very high (red: checkpoint only)")
    boundary: Geometry


class ZoneRedraw(BaseModel):
    risk_level: RiskLevel
    boundary: Geometry


class ZoneChanged(BaseModel):
    zone_id: str
    event_id: str
    district_code: str
    status: str = "accepted"


@router.get("/districts", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def districts(container: ContainerDep, principal: PrincipalDep) -> Response:
    """The province's districts as GeoJSON (simplified), the base layer of the map: public reference data, for any
    token."""
    return Response(container.views.districts_geojson(), media_type=GEOJSON)


@router.get("/zones", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def zones(container: ContainerDep, principal: OfficialDep,
          district_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None) -> Response:
    """Active zones as a FeatureCollection with households and live days of supply per item."""
    own = principal.district_of_scope(container.admin)
    if own is not None:
        principal.require_district(district_code or own, container.admin)
        district_code = own
    elif district_code is not None:
        principal.require_district(district_code, container.admin)
    return Response(container.views.zones_geojson(district_code), media_type=GEOJSON)


@router.post("/zones", status_code=status.HTTP_202_ACCEPTED, response_model=ZoneChanged)
def declare_zone(body: ZoneDeclare, container: ContainerDep, principal: PrincipalDep) -> ZoneChanged:
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    event = container.zone_commands.declare(body.name, body.boundary.model_dump(), body.risk_level,
                                            datetime.now(UTC), body.zone_id,
                                            allowed=lambda d: principal.require_district(d, container.admin))
    return ZoneChanged(zone_id=event.zone_id, event_id=event.event_id, district_code=event.district_code)


@router.put("/zones/{zone_id}", status_code=status.HTTP_202_ACCEPTED, response_model=ZoneChanged)
def redraw_zone(zone_id: ZoneId, body: ZoneRedraw, container: ContainerDep, principal: PrincipalDep) -> ZoneChanged:
    """Narrow or widen a zone, or change its risk level: a new version."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    principal.require_district(container.zone_commands.district_of(zone_id), container.admin)
    event = container.zone_commands.redraw(zone_id, body.boundary.model_dump(), body.risk_level, datetime.now(UTC))
    return ZoneChanged(zone_id=zone_id, event_id=event.event_id, district_code=event.district_code)


@router.post("/zones/{zone_id}/lift", status_code=status.HTTP_202_ACCEPTED, response_model=ZoneChanged)
def lift_zone(zone_id: ZoneId, container: ContainerDep, principal: PrincipalDep) -> ZoneChanged:
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    principal.require_district(container.zone_commands.district_of(zone_id), container.admin)
    event = container.zone_commands.lift(zone_id, datetime.now(UTC))
    return ZoneChanged(zone_id=zone_id, event_id=event.event_id, district_code=event.district_code)


@router.get("/places")
def places(container: ContainerDep, principal: OfficialDep) -> dict[str, list[dict[str, Any]]]:
    """Sales points, depots and checkpoints, for the map. District and commune officials see their district's sales
    points (with their contacts); depots and checkpoints serve trucks of every district, so all officials see them."""
    found = container.views.places()
    found["sales_points"] = [p for p in found["sales_points"] if principal.may_see_district(
        container.admin.district_of(p["commune_code"]) or "", container.admin)]
    return found
