"""The reference data a scenario is drawn on and checked against: district polygons, populations, commune codes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely import prepared
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from services.adapters.geodata import read_units
from services.domain.admin import AdminLevel

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "vn"


@dataclass(frozen=True)
class Reference:
    province_code: str
    province: Any  # shapely geometry of the province
    districts: dict[str, Any]  # code → shapely geometry (Thủ Đức's polygon covers only part of the city)
    district_names: dict[str, str]
    populations: dict[str, int]
    communes: dict[str, str]  # commune code → district code
    commune_names: dict[str, str]
    communes_by_district: dict[str, list[str]]  # sorted codes

    def district_at(self, lon: float, lat: float) -> str | None:
        """The code of the district polygon holding the point, or None."""
        point = Point(lon, lat)
        for code in self.districts:
            if _prepared(self.province_code, code).contains(point):
                return code
        return None

    def in_province(self, geometry: Any, tolerance_deg: float = 1e-5) -> bool:
        return bool(_prepared(self.province_code, "").contains(geometry)) or bool(
            self.province.buffer(tolerance_deg).contains(geometry))

    def area(self, codes: list[str]) -> Any:
        """The union of these districts' polygons."""
        return unary_union([self.districts[c] for c in codes])


@lru_cache(maxsize=4)
def reference(province_code: str = "79", data_dir: Path = DATA_DIR) -> Reference:
    """Read once per process."""
    units = read_units(data_dir, (province_code,))
    province = next(u for u in units if u.level is AdminLevel.PROVINCE)
    districts = [u for u in units if u.level is AdminLevel.DISTRICT]
    communes = [u for u in units if u.level is AdminLevel.COMMUNE]
    by_district: dict[str, list[str]] = {d.code: [] for d in districts}
    for c in communes:
        by_district[c.parent_code].append(c.code)
    if province.boundary is None:
        raise ValueError(f"no boundary for province {province_code} in {data_dir}")
    return Reference(
        province_code=province_code,
        province=shape(province.boundary.to_geojson()),
        districts={d.code: shape(d.boundary.to_geojson()) for d in districts if d.boundary is not None},
        district_names={d.code: d.name for d in districts},
        populations={d.code: d.population for d in districts if d.population},
        communes={c.code: c.parent_code for c in communes},
        commune_names={c.code: c.name for c in communes},
        communes_by_district={code: sorted(codes) for code, codes in by_district.items()},
    )


@lru_cache(maxsize=64)
def _prepared(province_code: str, district_code: str) -> Any:
    ref = reference(province_code)
    return prepared.prep(ref.districts[district_code] if district_code else ref.province)
