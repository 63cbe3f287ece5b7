"""Route sheets per vehicle: HTML (printable, phone-sized) or PDF, and day-long links for volunteer drivers.

A driver token sees its own vehicle only; district officials and coordinators see the vehicles of the plans of
their district or province. The link a coordinator or district official issues is a driver token for that vehicle
that expires at the end of the local day; the sheet's QR code opens that same link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from api import sheets as render
from api.auth import PrincipalDep
from api.deps import ContainerDep
from api.schemas import Text
from services.adapters.sheets import LOCAL, RouteSheet, SheetStore
from services.bootstrap import Container
from services.domain.access import Principal, Role

router = APIRouter(prefix="/api/v1", tags=["route sheets"])

PlanId = Annotated[Text, Path(max_length=160)]
VehicleId = Annotated[Text, Path(max_length=64)]
# The page loads nothing from elsewhere; links to map sites leave without a referrer (the URL may hold a token).
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _sheet(container: Container, principal: Principal, plan_id: str, vehicle_id: str) -> RouteSheet:
    store = SheetStore(container.engine, container.items)
    plan = store.plan(plan_id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no plan {plan_id}")
    # The plan's vehicles are those serving its district (PlanStore.snapshot), so that is the vehicle's district.
    principal.require_vehicle(vehicle_id, plan.district_code, container.admin)
    sheet = store.sheet(plan_id, vehicle_id)
    if sheet is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"vehicle {vehicle_id} has no stops in plan {plan_id}")
    return sheet


def _sheet_url(request: Request, plan_id: str, vehicle_id: str, token: str | None, pdf: bool = False) -> str:
    url = str(request.url_for("route_sheet_pdf" if pdf else "route_sheet", plan_id=plan_id, vehicle_id=vehicle_id))
    return f"{url}?{urlencode({'token': token})}" if token else url


def _link_token(request: Request, principal: Principal) -> str | None:
    """The token the live link may carry: a driver's own, when it came in the address (a volunteer's link). An
    official's token never goes into a QR code; their printouts point at the sheet, which then asks for a token."""
    token = request.query_params.get("token")
    if principal.role is Role.DRIVER and token and not request.headers.get("authorization"):
        return token
    return None


def _pdf(sheet: RouteSheet, live_url: str) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"sheet-{sheet.vehicle_id}-{sheet.plan_day.isoformat()}")
    return Response(render.to_pdf(sheet, live_url), media_type="application/pdf",
                    headers={**HEADERS, "Content-Disposition": f'inline; filename="{name}.pdf"'})


@router.get("/plans/{plan_id}/vehicles/{vehicle_id}/sheet", name="route_sheet", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}, "application/pdf": {}}}, 403: {}, 404: {}})
def get_sheet(request: Request, container: ContainerDep, principal: PrincipalDep, plan_id: PlanId,
              vehicle_id: VehicleId, format: Annotated[Literal["html", "pdf"], Query()] = "html") -> Response:
    """A vehicle's route sheet: stops in order with ETAs (local time), goods, contacts, checkpoint hand-overs, a
    navigation link per stop and a QR code of the live sheet. `?format=pdf` (or `/sheet.pdf`) for a PDF."""
    sheet = _sheet(container, principal, plan_id, vehicle_id)
    token = _link_token(request, principal)
    live_url = _sheet_url(request, plan_id, vehicle_id, token)
    if format == "pdf":
        return _pdf(sheet, live_url)
    html = render.to_html(sheet, live_url, pdf_url=_sheet_url(request, plan_id, vehicle_id, token, pdf=True))
    return HTMLResponse(html, headers={**HEADERS, "Content-Security-Policy": HTML_CSP})


@router.get("/plans/{plan_id}/vehicles/{vehicle_id}/sheet.pdf", name="route_sheet_pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}, 403: {}, 404: {}})
def get_sheet_pdf(request: Request, container: ContainerDep, principal: PrincipalDep, plan_id: PlanId,
                  vehicle_id: VehicleId) -> Response:
    """The route sheet as a PDF."""
    sheet = _sheet(container, principal, plan_id, vehicle_id)
    return _pdf(sheet, _sheet_url(request, plan_id, vehicle_id, _link_token(request, principal)))


def end_of_local_day(now: datetime) -> datetime:
    """The next midnight in Hồ Chí Minh City (UTC+7), as an aware datetime."""
    day = now.astimezone(LOCAL).date()
    return datetime.combine(day + timedelta(days=1), time(0), LOCAL)


@router.post("/plans/{plan_id}/vehicles/{vehicle_id}/link", status_code=status.HTTP_201_CREATED,
             responses={403: {}, 404: {}})
def issue_link(request: Request, container: ContainerDep, principal: PrincipalDep, plan_id: PlanId,
               vehicle_id: VehicleId) -> dict[str, Any]:
    """A link to the vehicle's live sheet for a volunteer driver: a driver token for this vehicle that expires at
    the end of the local day (coordinators and district officials only)."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT)
    _sheet(container, principal, plan_id, vehicle_id)
    now = datetime.now(UTC)
    expires_at = end_of_local_day(now)
    label = f"volunteer link {plan_id}/{vehicle_id} by {principal.role.value} {principal.token_id}"[:200]
    token = container.tokens.issue(Role.DRIVER, vehicle_id, now, label, expires_at)
    return {"url": _sheet_url(request, plan_id, vehicle_id, token),
            "pdf_url": _sheet_url(request, plan_id, vehicle_id, token, pdf=True),
            "plan_id": plan_id, "vehicle_id": vehicle_id, "expires_at": expires_at.isoformat()}
