"""Coverage: the live days of supply per zone, commune and district, roll-ups and shortage alerts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.auth import OfficialDep
from api.deps import ContainerDep
from api.responses import json_response, json_response_text, json_text
from api.schemas import Text
from services.domain.access import Forbidden, Role
from services.rollup import province_row

router = APIRouter(prefix="/api/v1", tags=["coverage"])

Level = Literal["zone", "zone-part", "commune", "district"]


@router.get("/coverage")
def get_coverage(container: ContainerDep, principal: OfficialDep, level: Level | None = None,
                 area_id: Annotated[Text | None, Query(max_length=80)] = None,
                 district_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None,
                 zone_id: Annotated[Text | None, Query(max_length=64)] = None) -> Response:
    """Need, stock, goods on the way and days of supply per area, from the streams' projection (district and
    commune officials see their own district)."""
    return json_response(_coverage(container, principal, level, area_id, district_code, zone_id))


def _coverage(container: Any, principal: Any, level: str | None, area_id: str | None = None,
              district_code: str | None = None, zone_id: str | None = None) -> list[dict[str, Any]]:
    if district_code is not None:  # asked by name: refused outside the scope, as /zones and /plans are
        principal.require_district(district_code, container.admin)
    rows = container.projections.coverage_rows(level=level, area_id=area_id, district_code=district_code,
                                               zone_id=zone_id)
    return [r for r in rows if principal.may_see_district(r["district_code"], container.admin)]


@router.get("/rollup")
def get_rollup(container: ContainerDep, principal: OfficialDep,
               province_code: Annotated[str, Query(pattern=r"^\d{2}$")] = "79",
               missing_after_hours: Annotated[float, Query(gt=0, le=720)] = 24.0) -> Response:
    """The province, then every district and commune, with coverage and a flag when a unit has not reported
    lately (officials of a district or commune see their district and its communes)."""
    # Missing-report flags are evaluated at the start of the current minute, so an answer can be reused until the
    # coverage rows change or the minute turns.
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    _require_province(principal, province_code)
    key = (province_code, missing_after_hours, minute, principal.role, principal.scope)
    return json_response_text(container.views.rollup_cached(key, lambda: json_text(
        _rollup(container, principal, province_code, missing_after_hours, minute))))


def _require_province(principal: Any, province_code: str) -> None:
    if principal.role is Role.COORDINATOR and province_code != principal.scope:
        raise Forbidden(f"a coordinator token for {principal.scope} cannot read province {province_code}")


def _rollup(container: Any, principal: Any, province_code: str, missing_after_hours: float,
            now: datetime | None = None) -> list[dict[str, Any]]:
    rows = container.projections.rollup(province_code, missing_after_hours, now or datetime.now(UTC))
    visible = [r for r in rows if principal.may_see_district(
        r["code"] if r["level"] == "district" else r["parent_code"], container.admin)]
    if principal.role is not Role.COORDINATOR:
        return visible
    province = container.admin.units.get(province_code)
    districts = [r for r in visible if r["level"] == "district"]
    return [province_row(province_code, province.name if province else province_code, districts), *visible]


@router.get("/alerts/shortages")
def get_shortage_alerts(container: ContainerDep, principal: OfficialDep) -> Response:
    """Open shortage alerts, the fewest days of supply first (officials see those touching their district)."""
    return json_response([a for a in container.projections.open_shortage_alerts()
                          if any(principal.may_see_district(d, container.admin) for d in a["district_codes"])])


@router.get("/coverage.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def coverage_csv(container: ContainerDep, principal: OfficialDep, level: Level | None = None,
                 district_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None) -> Response:
    """The same rows as /coverage, one line per area and item (need, stock, on the way, days of supply)."""
    rows = _coverage(container, principal, level, district_code=district_code)
    lines = [(r["level"], r["area_id"], r["district_code"], r["zone_id"] or "", r["households"], r["people"], item,
              r["need"].get(item, 0.0), r["stock"].get(item, 0.0), r["on_way"].get(item, 0.0),
              "" if r["days_of_supply"].get(item) is None else r["days_of_supply"][item])
             for r in rows for item in sorted(set(r["need"]) | set(r["stock"]) | set(r["on_way"]))]
    return _csv(["level", "area_id", "district_code", "zone_id", "households", "people", "item", "need_per_day",
                 "stock", "on_way", "days_of_supply"], lines, "coverage.csv")


@router.get("/rollup.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def rollup_csv(container: ContainerDep, principal: OfficialDep,
               province_code: Annotated[str, Query(pattern=r"^\d{2}$")] = "79",
               missing_after_hours: Annotated[float, Query(gt=0, le=720)] = 24.0) -> Response:
    _require_province(principal, province_code)
    rows = _rollup(container, principal, province_code, missing_after_hours)
    lines = [(r["level"], r["code"], r["name"], r["parent_code"], r["households"] or 0, r["people"] or 0,
              "" if r["min_days_of_supply"] is None else r["min_days_of_supply"], r["last_report_at"] or "",
              "yes" if r["missing_report"] else "no") for r in rows]
    return _csv(["level", "code", "name", "parent_code", "households", "people", "min_days_of_supply",
                 "last_report_at", "missing_report"], lines, "rollup.csv")


def _csv(header: list[str], lines: list[tuple[Any, ...]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
