"""The small lockdown scenario played through the whole system under Greenlane's allocation and both baselines.

Real processes (streams worker, API, two optimizer workers) on the real Kafka and PostGIS, a database of its own
(the runner empties the projections). Checks that the report's figures come from that run, and that Greenlane's
allocation leaves fewer zone-days short than both baselines (8 zones sharing 2 depots: 22/28/27,
Greenlane/proportional/fcfs, when this test was written; see the README).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from infra.scenario import read
from infra.scenario.campaign import run_policies
from infra.scenario.run import Progress
from infra.settings import ROOT, Settings
from tests.conftest import database_of_its_own, free_port

SPEED = 17280.0  # a simulated day in 5 s of wall time (the clock stands still while plans are being made)


@pytest.fixture(scope="module")
def scenario_database_url(servers: None) -> str:
    """A database of this test's own: the runner empties the projections before each run."""
    return database_of_its_own("greenlane_scenario")


def test_small_scenario_through_the_system_reports_figures_from_the_real_run(
        scenario_database_url: str, tmp_path: Path) -> None:
    scenario = read(ROOT / "scenarios" / "small.json")
    settings = Settings(environment="test", database_url=scenario_database_url, topic_partitions=4,
                        api_port=free_port(), streams_data_dir=tmp_path / "streams")
    results, figures, report = run_policies(scenario, settings, ["greenlane", "proportional", "fcfs"], speed=SPEED,
                                            out_dir=tmp_path / "report", progress=Progress(enabled=False),
                                            plan_time_limit_s=1.0)

    # The report is written from these figures, with its charts.
    assert report.exists() and "Zone-days with any item below 1 day of supply" in report.read_text()
    assert json.loads((tmp_path / "report" / "metrics.json").read_text()) == json.loads(json.dumps(figures))
    for chart in ("shortage_zone_days.png", "min_days_of_supply.png", "unmet_by_reason.png", "service.png"):
        assert (tmp_path / "report" / chart).stat().st_size > 1000

    kinds = Counter(e.kind for e in scenario.events)
    for result, figure in zip(results, figures, strict=True):
        # Every scenario event reached the system, none refused.
        assert figure["events_refused"] == {}, (result.policy, figure["events_refused"], result.log_dir)
        for kind in ("demand", "stock", "price", "sales_point_status", "depot_outage"):
            assert figure["events_sent"][kind] == kinds[kind], (result.policy, kind)
        assert figure["zone_changes"] == len(scenario.zone_changes())
        # Plans were stored, approved through the API and driven; drops confirmed through the API.
        assert figure["plans_approved"] == figure["approvals"] == len(result.approvals) > 0, (
            result.policy, figure["plans_approved"], figure["approvals"], [p["status"] for p in result.plans])
        assert figure["drops"] == len(result.drops) > 0
        assert figure["events_sent"].get("delivery", 0) == sum(1 for d in result.drops if d.confirmed_h is not None), (
            result.policy, figure["events_sent"], figure["events_refused"])
        assert figure["drops_delivered"] + figure["drops_failed"] <= figure["drops"]
        assert figure["shortage_zone_days"] == len(figure["shortage_zone_days_list"]) <= figure["zone_days"]
        days = set(range(1, scenario.meta.days + 1))
        assert figure["zone_days"] > 0 and set(figure["min_days_of_supply_by_day"]) <= days

    # The last run's plans are still in the database: the report's plan figures are the stored ones.
    last = figures[-1]
    engine = create_engine(scenario_database_url)
    with engine.connect() as conn:
        stored, approved, km = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('approved', 'revised')), "
            "coalesce(sum((stats->>'distance_km')::float) FILTER (WHERE status IN ('approved', 'revised')), 0) "
            "FROM plans")).one()
        households = conn.execute(text(
            "SELECT coalesce(sum(households), 0) FROM coverage WHERE level = 'district'")).scalar()
    engine.dispose()
    assert (stored, approved) == (last["plans_stored"], last["plans_approved"])
    assert round(km, 1) == last["km_driven"]
    # Demand went through Kafka and the streams worker into the coverage picture: every household submitted.
    assert households == sum(b.households for b in scenario.households if b.batch_id in results[-1].submissions)

    short = {f["policy"]: f["shortage_zone_days"] for f in figures}
    print("shortage zone-days by policy:", short)
    assert short["greenlane"] < short["proportional"] and short["greenlane"] < short["fcfs"], short
