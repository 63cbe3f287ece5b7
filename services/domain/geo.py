"""Geometry as plain values (WGS84 lon/lat); spatial operations live in the adapters."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidValue

Ring = tuple[tuple[float, float], ...]
PolygonCoords = tuple[Ring, ...]  # outer ring first, then holes, as in GeoJSON


@dataclass(frozen=True)
class Point:
    """A WGS84 position."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not -180.0 <= self.lon <= 180.0:
            raise InvalidValue("lon", f"{self.lon} is outside -180..180")
        if not -90.0 <= self.lat <= 90.0:
            raise InvalidValue("lat", f"{self.lat} is outside -90..90")


@dataclass(frozen=True)
class MultiPolygon:
    """Polygons in GeoJSON order; every ring is closed and has at least four positions."""

    polygons: tuple[PolygonCoords, ...]

    def __post_init__(self) -> None:
        if not self.polygons:
            raise InvalidValue("polygon", "is empty")
        for polygon in self.polygons:
            if not polygon:
                raise InvalidValue("polygon", "has a polygon without rings")
            for ring in polygon:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    raise InvalidValue("polygon", "every ring must be closed and have at least 4 positions")

    @classmethod
    def from_geojson(cls, geometry: dict[str, object]) -> MultiPolygon:
        """Build from a GeoJSON Polygon or MultiPolygon mapping."""
        kind = geometry.get("type")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list):
            raise InvalidValue("polygon", "coordinates must be a list")
        if kind == "Polygon":
            coords = [coords]
        elif kind != "MultiPolygon":
            raise InvalidValue("polygon", f"type must be Polygon or MultiPolygon, not {kind!r}")
        try:
            polygons = tuple(
                tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon) for polygon in coords
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidValue("polygon", f"malformed coordinates ({exc})") from exc
        return cls(polygons)

    def to_geojson(self) -> dict[str, object]:
        """The GeoJSON MultiPolygon mapping."""
        return {
            "type": "MultiPolygon",
            "coordinates": [[[list(p) for p in ring] for ring in polygon] for polygon in self.polygons],
        }
