"""Travel times: the haversine estimate on known places, and the OSRM client against a small local HTTP server."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from optimizer.travel import (
    UNREACHABLE,
    HaversineTravel,
    OsrmError,
    OsrmTravel,
    haversine_m,
    travel_times,
)

BEN_THANH = (106.698, 10.772)
TAN_SON_NHAT = (106.659, 10.818)
CHO_LON = (106.651, 10.750)
THU_DUC = (106.770, 10.850)
HANOI_HOAN_KIEM = (105.852, 21.028)


def test_known_city_distances():
    assert haversine_m(BEN_THANH, TAN_SON_NHAT) == pytest.approx(6_650, abs=100)  # ≈ 6.6 km straight
    assert haversine_m(BEN_THANH, HANOI_HOAN_KIEM) == pytest.approx(1_140_000, rel=0.02)  # Saigon–Hanoi ≈ 1,140 km


def test_haversine_matrix_is_symmetric_with_a_zero_diagonal_and_road_longer_than_straight():
    points = [BEN_THANH, TAN_SON_NHAT, CHO_LON, THU_DUC]
    m = HaversineTravel(circuity=1.3).matrix(points, depart_at_hour=11)
    for i in range(4):
        assert m.seconds[i][i] == 0 and m.meters[i][i] == 0
        for j in range(4):
            assert m.seconds[i][j] == m.seconds[j][i] and m.meters[i][j] == m.meters[j][i]
    assert m.meters[0][1] == pytest.approx(1.3 * haversine_m(BEN_THANH, TAN_SON_NHAT), abs=1)
    assert m.seconds[0][1] == pytest.approx(m.meters[0][1] / (25 / 3.6), abs=1)  # 25 km/h at 11:00


def test_rush_hour_is_slower_and_the_day_wraps():
    travel = HaversineTravel()
    rush = travel.matrix([BEN_THANH, TAN_SON_NHAT], depart_at_hour=7.5).seconds[0][1]
    night = travel.matrix([BEN_THANH, TAN_SON_NHAT], depart_at_hour=2).seconds[0][1]
    assert rush > night * 1.5
    assert travel.speed_at(26) == travel.speed_at(2)


@pytest.mark.parametrize("speeds", [[(0, 12, 20.0)], [(0, 12, 20.0), (11, 24, 20.0)], [(0, 24, 0.0)]])
def test_speed_ranges_must_cover_the_day(speeds):
    with pytest.raises(ValueError, match="speeds_kmh"):
        HaversineTravel(speeds_kmh=speeds)


def test_points_must_be_lon_lat():
    with pytest.raises(ValueError, match=r"points\[0\]"):
        HaversineTravel().matrix([(10.77, 106.69)])  # (lat, lon) by mistake


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table like OSRM: duration = 100 s and distance = 1 km per 0.001° of longitude between points."""

    requests: ClassVar[list[tuple[int, int]]] = []  # (sources, destinations) per request

    def do_GET(self) -> None:
        url = urlsplit(self.path)  # not urlparse: it would cut the path at the first ';'
        prefix = "/table/v1/driving/"
        coords = [tuple(map(float, c.split(","))) for c in url.path.removeprefix(prefix).split(";")]
        query = parse_qs(url.query)
        if any(lat > 80 for _, lat in coords) or not url.path.startswith(prefix):  # any query OSRM refuses
            return self.answer(400, {"code": "InvalidQuery", "message": "Query string malformed close to position 3"})
        if query.get("annotations") != ["duration,distance"]:
            return self.answer(400, {"code": "InvalidOptions", "message": "annotations missing"})
        everyone = ";".join(str(k) for k in range(len(coords)))
        sources = [int(k) for k in query.get("sources", [everyone])[0].split(";")]
        targets = [int(k) for k in query.get("destinations", [everyone])[0].split(";")]
        FakeOsrm.requests.append((len(sources), len(targets)))

        def cell(i, j, per):
            if coords[i][0] == 0.0 or coords[j][0] == 0.0:  # longitude 0: an island, no route
                return None if i != j else 0.0
            return abs(coords[i][0] - coords[j][0]) * 1000 * per

        self.answer(200, {"code": "Ok", "durations": [[cell(i, j, 100) for j in targets] for i in sources],
                          "distances": [[cell(i, j, 1000) for j in targets] for i in sources]})

    def answer(self, status, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def osrm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOsrm.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def line(n):
    return [(106.600 + 0.001 * k, 10.8) for k in range(n)]


def test_osrm_table_round_trip(osrm):
    m = OsrmTravel(osrm, timeout=5).matrix(line(4))
    assert m.seconds[0][3] == 300 and m.meters[0][3] == 3000 and m.seconds[2][1] == 100
    assert FakeOsrm.requests == [(4, 4)]


def test_large_osrm_matrices_go_in_chunks_and_join_up(osrm):
    points = line(7)
    whole = OsrmTravel(osrm).matrix(points)
    FakeOsrm.requests = []
    chunked = OsrmTravel(osrm, chunk_size=3).matrix(points)
    assert chunked == whole
    assert len(FakeOsrm.requests) == 9  # blocks of 3, 3, 1 points: 3 × 3 requests
    assert all(s <= 3 and d <= 3 for s, d in FakeOsrm.requests)
    assert chunked.seconds[6][0] == 600 and chunked.meters[1][5] == 4000


def test_osrm_errors_are_raised_with_their_code(osrm):
    with pytest.raises(OsrmError) as err:
        OsrmTravel(osrm).matrix([(106.7, 10.8), (106.7, 85.0)])
    assert err.value.code == "InvalidQuery" and "malformed" in str(err.value)


def test_osrm_no_route_becomes_unreachable(osrm):
    m = OsrmTravel(osrm).matrix([(106.7, 10.8), (0.0, 10.8)])
    assert m.seconds[0][1] == UNREACHABLE and m.meters[1][0] == UNREACHABLE and m.seconds[1][1] == 0


def test_an_osrm_server_that_is_down_is_reported():
    with pytest.raises(OsrmError) as err:
        OsrmTravel("http://127.0.0.1:9", timeout=1).matrix(line(2))
    assert err.value.code == "Unreachable"


def test_the_factory_uses_osrm_only_when_configured(osrm):
    assert isinstance(travel_times(None), HaversineTravel) and isinstance(travel_times(""), HaversineTravel)
    assert isinstance(travel_times(osrm), OsrmTravel)
