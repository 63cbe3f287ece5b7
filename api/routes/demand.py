"""Demand: communes and districts submit households and needs; coordinators read the live totals."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import ValidationError

from api.auth import PrincipalDep
from api.deps import ContainerDep
from api.schemas import CsvUploadResult, DemandAccepted, DemandCreate, RowRejected
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
CSV_COLUMNS = {"commune_code", "households", "people", "zone_id", "lon", "lat", "relief_bags", "event_id",
               *VULNERABLE_COLUMNS}
REQUIRED_COLUMNS = {"commune_code", "households", "people"}


@router.post("/csv", status_code=status.HTTP_202_ACCEPTED, response_model=CsvUploadResult,
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def post_demand_csv(request: Request, container: ContainerDep, principal: PrincipalDep,
                          idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> CsvUploadResult:
    """A CSV of households and needs, one submission per row (UTF-8, header row): commune_code, households, people,
    optional zone_id, lon, lat, relief_bags, event_id, and one column per vulnerable group. Good rows are accepted,
    each bad row is named by its line and field. Row n (the line it starts on) gets the id KEY:n, KEY being the
    Idempotency-Key or else a digest of the file: an upload retried, or the same file sent again, counts once.
    The file is read whole (at most 5 MB, 413 beyond) before any row is published, so a broken file publishes
    nothing."""
    principal.require_role(Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)
    body = await _csv_body(request)
    key = idempotency_key or f"csv-{hashlib.sha256(body).hexdigest()[:32]}"
    text = _csv_text(body)
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = next(rows, None)
    except csv.Error as exc:
        raise _invalid(["body", "header"], f"line 1: {exc}") from None
    if columns is None:
        raise _invalid(["body"], "the CSV is empty")
    _check_header(columns)
    accepted, rejected, batch = 0, [], []
    seen: dict[tuple[str, ...], int] = {}
    line = rows.line_num + 1  # the line the next row starts on
    while True:
        try:
            values = next(rows, None)
        except csv.Error as exc:
            rejected.append(RowRejected(row=line, field="row", message=str(exc)))
            line = rows.line_num + 1
            continue
        if values is None:
            break
        row, line = line, rows.line_num + 1
        if not any(v.strip() for v in values):
            continue
        try:
            _no_duplicate(values, row, seen)
            event = _row_event(columns, values, f"{key}:{row}", container, principal)
        except _RowError as exc:
            rejected.append(RowRejected(row=row, field=exc.field, message=exc.message))
            continue
        batch.append((event.district_code, event))
        if len(batch) >= CSV_BATCH:
            container.publisher.publish_many(container.topics.demand, batch)
            accepted, batch = accepted + len(batch), []
    if batch:
        container.publisher.publish_many(container.topics.demand, batch)
        accepted += len(batch)
    return CsvUploadResult(accepted=accepted, rejected=rejected)


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def _invalid(loc: list[str], message: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": loc, "msg": message, "type": "value_error"}])


async def _csv_body(request: Request) -> bytes:
    """The whole upload, refusing more than MAX_CSV_BYTES (413) as soon as it is declared or received."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CSV_BYTES:
        raise HTTPException(413, detail=f"the upload is larger than {MAX_CSV_BYTES} bytes")
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_CSV_BYTES:
            raise HTTPException(413, detail=f"the upload is larger than {MAX_CSV_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _csv_text(body: bytes) -> str:
    """The upload as text (a leading byte order mark dropped); 422 naming the first line that is not UTF-8 or holds
    a NUL character (PostgreSQL text cannot)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[:exc.start].count(b"\n") + 1
        raise _invalid(["body", f"line {line}"], f"line {line} is not UTF-8 (byte {exc.start + 1}); save the file "
                                                 "as CSV UTF-8") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise _invalid(["body", f"line {line}"], f"line {line} holds a NUL character")
    return text


def _check_header(columns: list[str]) -> None:
    """422 for missing required columns, unknown ones (a misspelt column would silently drop its values) and
    repeated ones."""
    names = [c.strip() for c in columns]
    missing = REQUIRED_COLUMNS - set(names)
    if missing:
        raise _invalid(["body", "header"], f"missing columns: {', '.join(sorted(missing))}")
    unknown = [n for n in names if n not in CSV_COLUMNS]
    if unknown:
        raise _invalid(["body", "header"], f"unknown columns: {', '.join(unknown)} (known: "
                                           f"{', '.join(sorted(CSV_COLUMNS))})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _invalid(["body", "header"], f"repeated columns: {', '.join(repeated)}")
    columns[:] = names


def _no_duplicate(values: list[str], row: int, seen: dict[tuple[str, ...], int]) -> None:
    """A row repeated word for word in one upload is refused: most likely pasted twice (two batches of the same size
    in one commune can say so with their own event_id, zone or location)."""
    content = tuple(v.strip() for v in values)
    first = seen.setdefault(content, row)
    if first != row:
        raise _RowError("row", f"the same as row {first}")


def _row_event(columns: list[str], row_values: list[str], event_id: str, container: Any, principal: Any) -> Any:
    if len(row_values) > len(columns):
        raise _RowError("row", f"{len(row_values)} values, but the header has {len(columns)} columns")
    values = dict(zip(columns, (v.strip() for v in row_values), strict=False))
    body: dict[str, Any] = {k: v for k, v in values.items()
                            if k in ("commune_code", "households", "people", "zone_id", "relief_bags", "event_id")
                            and v != ""}
    if values.get("lon") and values.get("lat"):
        body["location"] = {"lon": values["lon"], "lat": values["lat"]}
    elif values.get("lon") or values.get("lat"):
        raise _RowError("lat" if values.get("lon") else "lon", "give both lon and lat, or neither")
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
        command = SubmitDemand(event_id=parsed.event_id or event_id,
                               occurred_at=datetime.now(UTC), report=_report(parsed))
        return build_demand(command, container.admin, container.items)
    except (InvalidValue, UnknownReference) as exc:
        raise _RowError(exc.field, str(exc)) from None
