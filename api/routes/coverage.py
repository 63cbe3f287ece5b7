"""Coverage: the live days of supply per zone, commune and district, roll-ups and shortage alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.auth import PrincipalDep
from api.deps import ContainerDep

router = APIRouter(prefix="/api/v1", tags=["coverage"])

Level = Literal["zone", "zone-part", "commune", "district"]


@router.get("/coverage")
def get_coverage(container: ContainerDep, principal: PrincipalDep, level: Level | None = None,
                 area_id: Annotated[str | None, Query(max_length=80)] = None,
                 district_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None,
                 zone_id: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    """Need, stock, goods on the way and days of supply per area, from the streams' projection (district and
    commune officials see their own district)."""
    rows = container.projections.coverage_rows(level=level, area_id=area_id, district_code=district_code,
                                               zone_id=zone_id)
    return [r for r in rows if principal.may_see_district(r["district_code"], container.admin)]


@router.get("/rollup")
def get_rollup(container: ContainerDep, principal: PrincipalDep,
               province_code: Annotated[str, Query(pattern=r"^\d{2}$")] = "79",
               missing_after_hours: Annotated[float, Query(gt=0, le=720)] = 24.0) -> list[dict[str, Any]]:
    """Every district and commune of a province with its coverage and a flag when it has not reported lately."""
    rows = container.projections.rollup(province_code, missing_after_hours, datetime.now(UTC))
    return [r for r in rows if principal.may_see_district(
        r["code"] if r["level"] == "district" else r["parent_code"], container.admin)]


@router.get("/alerts/shortages")
def get_shortage_alerts(container: ContainerDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Open shortage alerts, the fewest days of supply first (officials see those touching their district)."""
    return [a for a in container.projections.open_shortage_alerts()
            if any(principal.may_see_district(d, container.admin) for d in a["district_codes"])]
