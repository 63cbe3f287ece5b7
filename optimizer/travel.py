"""Travel times and distances between points: a built-in haversine estimate, or an OSRM server when configured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

Point = tuple[float, float]  # (lon, lat) in degrees, the order OSRM and GeoJSON use
EARTH_RADIUS_M = 6_371_008.8
UNREACHABLE = 10**9  # seconds and meters for a pair OSRM finds no route between; keeps the matrix integer

# (from hour, to hour, km/h) covering the day. Hồ Chí Minh City rush hours are the slow ones.
DEFAULT_SPEEDS_KMH: tuple[tuple[float, float, float], ...] = (
    (0, 6, 35.0), (6, 9, 18.0), (9, 16, 25.0), (16, 19, 18.0), (19, 24, 30.0))


@dataclass  # not frozen: callers may describe it with a Protocol of plain (writable) attributes
class TravelMatrix:
    """seconds[i][j] and meters[i][j] from point i to point j."""

    seconds: list[list[int]]
    meters: list[list[int]]


class TravelTimes(Protocol):
    def matrix(self, points: Sequence[Point], depart_at_hour: float = 8.0) -> TravelMatrix: ...


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in meters between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _check_points(points: Sequence[Point]) -> None:
    for k, (lon, lat) in enumerate(points):
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"points[{k}]: ({lon}, {lat}) is not a (lon, lat) pair in degrees")


class HaversineTravel:
    """Straight-line distance × a circuity factor, at the speed of the hour of departure."""

    def __init__(self, circuity: float = 1.3,
                 speeds_kmh: Sequence[tuple[float, float, float]] = DEFAULT_SPEEDS_KMH) -> None:
        if circuity < 1:
            raise ValueError("circuity: road distance cannot be shorter than the straight line (needs ≥ 1)")
        ranges = sorted(speeds_kmh)
        covered = 0.0
        for start, end, speed in ranges:
            if start != covered or end <= start or speed <= 0:
                raise ValueError("speeds_kmh: hour ranges must cover 0–24 without gaps or overlaps, speeds > 0")
            covered = end
        if covered != 24:
            raise ValueError("speeds_kmh: hour ranges must end at 24")
        self.circuity = circuity
        self.speeds_kmh = tuple(ranges)

    def speed_at(self, hour: float) -> float:
        """Speed in km/h for a departure at `hour` (taken modulo 24)."""
        hour %= 24
        return next(speed for start, end, speed in self.speeds_kmh if start <= hour < end)

    def matrix(self, points: Sequence[Point], depart_at_hour: float = 8.0) -> TravelMatrix:
        """Road distance estimated as great-circle × circuity; time at the departure hour's speed."""
        _check_points(points)
        meters_per_second = self.speed_at(depart_at_hour) / 3.6
        meters = [[round(haversine_m(a, b) * self.circuity) for b in points] for a in points]
        seconds = [[round(m / meters_per_second) for m in row] for row in meters]
        return TravelMatrix(seconds, meters)


class OsrmError(RuntimeError):
    """OSRM refused or failed a table request; `code` is OSRM's own code (e.g. InvalidQuery, TooBig) or HTTP."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OSRM {code}: {message}")
        self.code = code


class OsrmTravel:
    """OSRM's table service; matrices beyond `chunk_size` points go in blocks of sources × destinations.

    OSRM's --max-table-size (100 by default) bounds sources × destinations per request by its square, hence the
    default chunk. OSRM has no time-of-day model: `depart_at_hour` is accepted for the interface and ignored.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, profile: str = "driving", chunk_size: int = 100) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be ≥ 1")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.profile = profile
        self.chunk_size = chunk_size

    def matrix(self, points: Sequence[Point], depart_at_hour: float = 8.0) -> TravelMatrix:
        """Durations and distances from OSRM, one request per block of sources × destinations."""
        _check_points(points)
        n = len(points)
        seconds = [[0] * n for _ in range(n)]
        meters = [[0] * n for _ in range(n)]
        blocks = [list(range(i, min(i + self.chunk_size, n))) for i in range(0, n, self.chunk_size)]
        with httpx.Client(timeout=self.timeout) as client:
            for rows in blocks:
                for cols in blocks:
                    durations, distances = self._table(client, points, rows, cols)
                    for a, i in enumerate(rows):
                        for b, j in enumerate(cols):
                            seconds[i][j] = _whole(durations[a][b])
                            meters[i][j] = _whole(distances[a][b])
        return TravelMatrix(seconds, meters)

    def _table(self, client: httpx.Client, points: Sequence[Point], rows: list[int],
               cols: list[int]) -> tuple[list[list[Any]], list[list[Any]]]:
        chosen = rows if rows == cols else rows + cols
        coordinates = ";".join(f"{points[k][0]:.6f},{points[k][1]:.6f}" for k in chosen)
        params = {"annotations": "duration,distance"}
        if rows != cols:
            params["sources"] = ";".join(str(a) for a in range(len(rows)))
            params["destinations"] = ";".join(str(len(rows) + b) for b in range(len(cols)))
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        try:
            response = client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise OsrmError("Unreachable", f"{self.base_url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise OsrmError(f"HTTP {response.status_code}", response.text[:200]) from None
        if response.status_code != 200 or body.get("code") != "Ok":
            raise OsrmError(str(body.get("code", f"HTTP {response.status_code}")), str(body.get("message", "")))
        durations, distances = body.get("durations"), body.get("distances")
        if durations is None or distances is None:
            raise OsrmError("NoAnnotations", "the answer lacks durations or distances (is OSRM older than 5.19?)")
        return durations, distances


def _whole(value: float | None) -> int:
    return UNREACHABLE if value is None else round(value)


def travel_times(osrm_url: str | None, timeout: float = 10.0) -> TravelTimes:
    """OSRM when a URL is configured, else the built-in haversine estimate."""
    return OsrmTravel(osrm_url, timeout) if osrm_url else HaversineTravel()
