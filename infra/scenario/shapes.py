"""Geometry for drawing scenarios: irregular zone shapes, points inside polygons, GeoJSON with rounded coordinates."""

from __future__ import annotations

import math
import random
from typing import Any

import shapely
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.polygon import orient

# Metres per degree around Hồ Chí Minh City (10.8° N).
M_PER_DEG_LON = 109_350.0
M_PER_DEG_LAT = 110_600.0
GRID = 1e-6  # coordinates are written with 6 decimals (about 0.1 m)


def star(rng: random.Random, lon: float, lat: float, radius_m: float) -> Polygon:
    """An irregular, star-shaped (so simple) polygon of 9–14 vertices around a centre."""
    n = rng.randint(9, 14)
    step = 2 * math.pi / n
    ring = []
    for i in range(n):
        angle = i * step + rng.uniform(-0.3, 0.3) * step
        r = radius_m * rng.uniform(0.7, 1.25)
        ring.append((lon + r * math.cos(angle) / M_PER_DEG_LON, lat + r * math.sin(angle) / M_PER_DEG_LAT))
    return Polygon(ring)


def tidy(geometry: Any) -> Polygon | None:
    """The largest polygon of a geometry, on the 6-decimal grid, counter-clockwise, without holes; None if none."""
    if geometry.is_empty:
        return None
    parts = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon)]
    if not parts:
        return None
    largest = max(parts, key=lambda g: g.area)
    snapped = shapely.set_precision(Polygon(largest.exterior), GRID)
    if not isinstance(snapped, Polygon) or snapped.is_empty or not snapped.is_valid:
        return None
    return orient(snapped, 1.0)


def to_geojson(polygon: Polygon) -> dict[str, Any]:
    """A GeoJSON Polygon with coordinates rounded to 6 decimals."""
    rings = [polygon.exterior, *polygon.interiors]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring.coords]
                                               for ring in rings]}


def from_geojson(geometry: dict[str, Any]) -> Any:
    return shape(geometry)


def point_in(rng: random.Random, polygon: Any, prepared: Any | None = None) -> tuple[float, float]:
    """A uniform random point inside a polygon, rounded to 6 decimals."""
    minx, miny, maxx, maxy = polygon.bounds
    test = prepared or polygon
    while True:
        lon, lat = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
        if test.contains(Point(lon, lat)):
            return lon, lat


def on_boundary(polygon: Polygon, fraction: float) -> tuple[float, float]:
    """The point at this fraction of the way round the exterior, rounded to 6 decimals."""
    point = polygon.exterior.interpolate(fraction % 1.0, normalized=True)
    return round(point.x, 6), round(point.y, 6)


def metres(geometry_a: Any, geometry_b: Any) -> float:
    """Approximate distance in metres between two geometries near the city."""
    return float(geometry_a.distance(geometry_b)) * (M_PER_DEG_LON + M_PER_DEG_LAT) / 2


def area_km2(geometry: Any) -> float:
    return float(geometry.area) * M_PER_DEG_LON * M_PER_DEG_LAT / 1e6

