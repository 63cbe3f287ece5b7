"""Demand: communes and districts submit households and needs; coordinators read the live totals."""

from __future__ import annotations

import csv
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import ValidationError

from api.auth import PrincipalDep
from api.deps import ContainerDep
from api.schemas import DemandAccepted, DemandCreate
from services.domain.access import Forbidden, Role
from services.domain.commands import SubmitDemand
from services.domain.demand import DemandReport, ItemNeed, VulnerableGroup
from services.domain.errors import InvalidValue, UnknownReference
from services.domain.geo import Point
from services.handlers import build_demand, submit_demand

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
    command = SubmitDemand(event_id=body.event_id or idempotency_key or str(uuid.uuid4()),
                           occurred_at=body.occurred_at or datetime.now(UTC), report=_report(body))
    event = submit_demand(command, container.admin, container.items, container.publisher, container.topics)
    return DemandAccepted(event_id=event.event_id, district_code=event.district_code)


def _report(body: DemandCreate) -> DemandReport:
    return DemandReport(
        commune_code=body.commune_code, households=body.households, people=body.people,
        vulnerable=dict(body.vulnerable), needs=tuple(ItemNeed(n.item_code, n.quantity_per_day) for n in body.needs),
        relief_bags=body.relief_bags, zone_id=body.zone_id,
        location=Point(body.location.lon, body.location.lat) if body.location else None)


MAX_CSV_BYTES = 5_000_000
CSV_BATCH = 500
VULNERABLE_COLUMNS = [g.value for g in VulnerableGroup]


@router.post("/csv", status_code=status.HTTP_202_ACCEPTED,
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def post_demand_csv(request: Request, container: ContainerDep, principal: PrincipalDep,
                          idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> dict[str, Any]:
    """A CSV of households and needs, one submission per row (UTF-8, header row): commune_code, households, people,
    optional zone_id, lon, lat, relief_bags, event_id, and one column per vulnerable group. Good rows are accepted,
    each bad row gets its error; with an Idempotency-Key, row n gets the id KEY:n, so an upload retried counts once.
    At most 5 MB (413 beyond)."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CSV_BYTES:
        raise HTTPException(413, detail=f"the upload is larger than {MAX_CSV_BYTES} bytes")
    accepted, rejected, batch = 0, [], []
    lines = _csv_lines(request)
    header = await anext(lines, None)
    if header is None:
        raise HTTPException(422, detail=[{"loc": ["body"], "msg": "the CSV is empty", "type": "value_error"}])
    columns = next(csv.reader([header]))
    missing = {"commune_code", "households", "people"} - set(columns)
    if missing:
        raise HTTPException(422, detail=[{"loc": ["body", "header"], "type": "value_error",
                                          "msg": f"missing columns: {', '.join(sorted(missing))}"}])
    row_number = 1
    async for line in lines:
        row_number += 1
        if not line.strip():
            continue
        values = dict(zip(columns, next(csv.reader([line])), strict=False))
        try:
            event = _row_event(values, row_number, idempotency_key, container, principal)
        except _RowError as exc:
            rejected.append({"row": row_number, "field": exc.field, "message": exc.message})
            continue
        batch.append((event.district_code, event))
        if len(batch) >= CSV_BATCH:
            container.publisher.publish_many(container.topics.demand, batch)
            accepted, batch = accepted + len(batch), []
    if batch:
        container.publisher.publish_many(container.topics.demand, batch)
        accepted += len(batch)
    return {"accepted": accepted, "rejected": rejected}


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


async def _csv_lines(request: Request) -> AsyncIterator[str]:
    """The body's lines as they arrive, refusing more than MAX_CSV_BYTES (413)."""
    received, pending = 0, b""
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_CSV_BYTES:
            raise HTTPException(413, detail=f"the upload is larger than {MAX_CSV_BYTES} bytes")
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield _text(raw)
    if pending:
        yield _text(pending)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise HTTPException(422, detail=[{"loc": ["body"], "msg": "the CSV must be UTF-8",
                                          "type": "value_error"}]) from None


def _row_event(values: dict[str, str], row: int, key: str | None, container: Any, principal: Any) -> Any:
    body: dict[str, Any] = {k: v for k, v in values.items()
                            if k in ("commune_code", "households", "people", "zone_id", "relief_bags", "event_id")
                            and v != ""}
    if values.get("lon") and values.get("lat"):
        body["location"] = {"lon": values["lon"], "lat": values["lat"]}
    body["vulnerable"] = {g: values[g] for g in VULNERABLE_COLUMNS if values.get(g)}
    try:
        parsed = DemandCreate.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _RowError(".".join(str(p) for p in error["loc"]), error["msg"]) from None
    if not container.admin.has_commune(parsed.commune_code):
        raise _RowError("commune_code", f"unknown commune {parsed.commune_code}")
    try:
        principal.require_commune(parsed.commune_code, container.admin)
    except Forbidden as exc:
        raise _RowError("commune_code", exc.message) from None
    try:
        command = SubmitDemand(event_id=parsed.event_id or (f"{key}:{row}" if key else str(uuid.uuid4())),
                               occurred_at=datetime.now(UTC), report=_report(parsed))
        return build_demand(command, container.admin, container.items)
    except (InvalidValue, UnknownReference) as exc:
        raise _RowError(exc.field, str(exc)) from None
