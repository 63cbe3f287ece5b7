"""The routing benchmark's independent checker, on a tiny instance whose answers can be checked by hand."""

import pytest

from bench.routing import check_routes
from optimizer.solomon import SolomonInstance


@pytest.fixture
def tiny():
    # Depot at (0, 0), open 0..100; customers 1 at (3, 4) and 2 at (6, 8), 5 apart on a line from the depot.
    return SolomonInstance(name="tiny", vehicles=2, capacity=10, coords=[(0, 0), (3, 4), (6, 8)],
                           demand=[0, 6, 4], ready=[0, 0, 20], due=[100, 10, 30], service=[0, 2, 2])


def test_a_feasible_plan_and_its_exact_length(tiny):
    check = check_routes(tiny, [[1, 2]])  # 5 to 1 (at 5, service to 7), 5 to 2 (at 12, wait to 20), 10 back
    assert check["feasible"] and check["vehicles"] == 1
    assert check["distance"] == pytest.approx(20.0)
    assert check_routes(tiny, [[1], [2], []])["distance"] == pytest.approx(30.0)  # empty routes do not count


def test_every_kind_of_violation_is_caught(tiny):
    assert check_routes(tiny, [[2, 1]])["problems"] == ["route 0: customer 1 reached at 27.0000 > due 10"]
    assert "1 customers unserved" in check_routes(tiny, [[1]])["problems"][0]
    assert "served more than once" in check_routes(tiny, [[1, 2], [2]])["problems"][0]
    assert "3 routes for a fleet of 2" in check_routes(tiny, [[1], [2], [1, 2]])["problems"][1]
    overloaded = SolomonInstance(**{**tiny.__dict__, "capacity": 9})
    assert check_routes(overloaded, [[1, 2]])["problems"] == ["route 0: load 10 > capacity 9"]
    closing = SolomonInstance(**{**tiny.__dict__, "due": [25, 10, 30]})
    assert check_routes(closing, [[1, 2]])["problems"] == ["route 0: back at the depot at 32.0000 > 25"]
    assert "unknown customers" in " ".join(check_routes(tiny, [[1, 2, 7]])["problems"])
