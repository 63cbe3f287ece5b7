"""Read the Vietnamese reference geodata (GSO codes, district boundaries, populations) into domain units."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from services.domain.admin import AdminCatalogue, AdminLevel, AdminUnit
from services.domain.geo import MultiPolygon

PROVINCES = ("79", "74", "54", "46", "06")


def read_units(data_dir: Path, provinces: tuple[str, ...] = PROVINCES, with_boundaries: bool = True
               ) -> list[AdminUnit]:
    """Provinces, districts (with polygons) and communes of the given provinces."""
    catalogue = json.loads((data_dir / "admin_units.json").read_text(encoding="utf-8"))["data"]
    units: list[AdminUnit] = []
    for province in catalogue:
        pcode = province["level1_id"]
        if pcode not in provinces:
            continue
        boundaries, province_boundary = (_district_boundaries(data_dir, pcode) if with_boundaries else ({}, None))
        populations = _populations(data_dir, pcode)
        units.append(AdminUnit(pcode, province["name"], AdminLevel.PROVINCE, province["type"],
                               boundary=province_boundary))
        for district in province["level2s"]:
            dcode = district["level2_id"]
            units.append(AdminUnit(dcode, district["name"], AdminLevel.DISTRICT, district["type"], pcode,
                                   boundaries.get(dcode), populations.get(district["name"])))
            units.extend(AdminUnit(c["level3_id"], c["name"], AdminLevel.COMMUNE, c["type"], dcode)
                         for c in district["level3s"])
    return units


def read_catalogue(data_dir: Path, provinces: tuple[str, ...] = PROVINCES) -> AdminCatalogue:
    """Codes and names only (no polygons): cheap enough for any process to hold."""
    return AdminCatalogue({u.code: u for u in read_units(data_dir, provinces, with_boundaries=False)})


def _district_boundaries(data_dir: Path, province_code: str) -> tuple[dict[str, MultiPolygon], MultiPolygon | None]:
    path = data_dir / f"districts_{province_code}.json"
    if not path.exists():
        return {}, None
    data = json.loads(path.read_text(encoding="utf-8"))
    districts = {d["level2_id"]: MultiPolygon.from_geojson({"type": d["type"], "coordinates": d["coordinates"]})
                 for d in data["level2s"]}
    province = (MultiPolygon.from_geojson({"type": data["type"], "coordinates": data["coordinates"]})
                if data.get("coordinates") else None)
    return districts, province


def _populations(data_dir: Path, province_code: str) -> dict[str, int]:
    path = data_dir / f"population_{province_code}.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        return {row["district_name"]: int(row["population"]) for row in csv.DictReader(f)}
