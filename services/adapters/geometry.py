"""Conversions between domain geometry values and PostGIS columns, at the boundary only."""

from __future__ import annotations

from typing import Any

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon as ShapelyMultiPolygon
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import mapping, shape

from services.domain.geo import MultiPolygon, Point

SRID = 4326


def multipolygon_to_db(boundary: MultiPolygon) -> WKBElement:
    geom = shape(boundary.to_geojson())
    return from_shape(geom, srid=SRID)


def multipolygon_from_db(value: Any) -> MultiPolygon:
    geom = to_shape(value)
    if not isinstance(geom, ShapelyMultiPolygon):
        geom = ShapelyMultiPolygon([geom])
    return MultiPolygon.from_geojson(dict(mapping(geom)))


def point_to_db(point: Point) -> WKBElement:
    return from_shape(ShapelyPoint(point.lon, point.lat), srid=SRID)


def point_from_db(value: Any) -> Point:
    geom = to_shape(value)
    return Point(geom.x, geom.y)
