"""Routing benchmark (issue #4, point 8): `make bench-routing`, or `python -m bench.routing [--instances A,B]
[--time-limit S] [--large-time-limit S] [--solvers ours,pyvrp,vroom] [--quick]`.

Instances come from ../shared/benchmarks/vrp (Solomon 100-customer, Gehring & Homberger 200, 400 and 1000; the
shared copy has no 600- or 800-customer instance files). Objective: total distance with the fleet capped at the
instance's vehicle count (the DIMACS rule), not the hierarchical vehicles-first rule.

Three solvers, one after the other, each with the same wall-clock budget and one thread:
* ours: `optimizer.search.plan_routes`, the product's planner (PyVRP warm start, then the OR-Tools model), exactly
  what `greenlane route solve` runs;
* PyVRP: `pyvrp.solve` with `MaxRuntime(budget)`;
* VROOM (pyvroom): exploration level 5, one thread, `timeout=budget`.
All three get the same integer data: distances and times ×1000 from `optimizer.solomon.to_problem` (distances
truncated, times rounded up). The routes of every solver then go through one independent checker in this script,
in exact Euclidean arithmetic on the original coordinates (capacity, time windows with service times, return to the
depot before it closes, every customer exactly once, fleet cap); only feasible routes get a distance and a gap.

Best-known solutions (bks.csv, objective=distance): Solomon from Bräysy & Gendreau et al. (un-rounded Euclidean);
G&H 1000 from CVRPLIB under the DIMACS convention (one-decimal truncation), so here the BKS routes themselves (.sol
files) are measured with exact Euclidean distance and that is the reference; G&H 200 and 400 have no distance-
objective BKS in the shared data, so their reference is the hierarchical BKS (fewest vehicles first), which a
distance-only search can beat: negative gaps are possible there and the column says "hier".

gap % = (distance − BKS distance) / BKS distance × 100. Figures are printed and written to
bench/results/routing.json; nothing here asserts on wall time or quality.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one thread for every solver, set before numpy and the solvers load
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import csv
import datetime as dt
import json
import logging
import math
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.model import RoutingProblem
from optimizer.search import plan_routes
from optimizer.solomon import SCALE, SolomonInstance, read, to_problem

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / ".." / "shared" / "benchmarks" / "vrp").resolve()
RESULTS = ROOT / "bench" / "results" / "routing.json"
SOLVERS = ("ours", "pyvrp", "vroom")
DEFAULT_LARGE = ("r1_2_1", "r1_4_1", "r1_10_1")  # one per size in the shared data (it has no 600 or 800 files)
QUICK = ("c101", "r101", "rc101", "c201", "r201", "rc201")
EPS = 1e-6  # float slack in the exact-arithmetic checks


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # solomon, homberger_200, homberger_400, homberger_1000
    path: Path
    time_limit_s: float
    bks_distance: float
    bks_vehicles: int
    bks_objective: str  # "distance" or "hier"
    bks_note: str


@dataclass
class Outcome:
    routes: list[list[int]]  # customer numbers per non-empty route
    wall_s: float
    error: str | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- instances and BKS


def _bks_rows() -> dict[tuple[str, str], dict[str, str]]:
    with (DATA / "bks.csv").open() as f:
        return {(row["instance"].lower(), row["objective"]): row for row in csv.DictReader(f)}


def _instance_files() -> dict[str, tuple[str, Path]]:
    files = {}
    for group in ("solomon", "homberger_200", "homberger_400", "homberger_600", "homberger_800", "homberger_1000"):
        folder = DATA / "instances" / group
        if folder.is_dir():
            for path in sorted(folder.glob("*.txt")):
                files[path.stem.lower()] = (group, path)
    return files


def _read_sol(path: Path) -> list[list[int]]:
    return [[int(x) for x in line.split(":", 1)[1].split()]
            for line in path.read_text().splitlines() if line.startswith("Route")]


def make_case(name: str, group: str, path: Path, time_limit_s: float,
              bks: dict[tuple[str, str], dict[str, str]]) -> Case:
    row = bks.get((name, "distance"))
    if row is not None and row["convention"] == "euclid_double":
        return Case(name, group, path, time_limit_s, float(row["distance"]), int(row["vehicles"]), "distance",
                    "BKS for total distance, un-rounded Euclidean")
    if row is not None and row["convention"] == "dimacs_trunc1" and row["file"]:
        sol = (DATA / "instances" / row["file"]).with_suffix(".sol")
        routes = _read_sol(sol)
        check = check_routes(read(path), routes)
        late = f"; late by up to {check['max_late']:.3f} under exact times" if check["max_late"] > EPS else ""
        return Case(name, group, path, time_limit_s, check["distance"], len(routes), "distance",
                    f"CVRPLIB BKS {row['distance']} (DIMACS truncation); its routes measure "
                    f"{check['distance']:.2f} in exact Euclidean distance{late}")
    row = bks.get((name, "hierarchical"))
    if row is None:
        raise SystemExit(f"no best-known solution for {name} in {DATA / 'bks.csv'}")
    return Case(name, group, path, time_limit_s, float(row["distance"]), int(row["vehicles"]), "hier",
                "hierarchical BKS (fewest vehicles, then distance): no distance-objective BKS in the shared data")


# ---------------------------------------------------------------------------------------------- the checker


def check_routes(instance: SolomonInstance, routes: list[list[int]]) -> dict[str, Any]:
    """Independent feasibility check and exact length (Euclidean on the original coordinates, float arithmetic)."""
    coords, n = instance.coords, len(instance.coords)
    problems: list[str] = []
    routes = [r for r in routes if r]
    seen: dict[int, int] = {}
    for route in routes:
        for c in route:
            seen[c] = seen.get(c, 0) + 1
    missing = [c for c in range(1, n) if c not in seen]
    repeated = [c for c, k in seen.items() if k > 1]
    unknown = [c for c in seen if not 1 <= c < n]
    if missing:
        problems.append(f"{len(missing)} customers unserved (e.g. {missing[:5]})")
    if repeated:
        problems.append(f"{len(repeated)} customers served more than once (e.g. {repeated[:5]})")
    if unknown:
        problems.append(f"unknown customers {unknown[:5]}")
    if len(routes) > instance.vehicles:
        problems.append(f"{len(routes)} routes for a fleet of {instance.vehicles}")
    total, max_late = 0.0, 0.0
    for k, route in enumerate(routes):
        if any(not 1 <= c < n for c in route):
            continue
        load = sum(instance.demand[c] for c in route)
        if load > instance.capacity:
            problems.append(f"route {k}: load {load} > capacity {instance.capacity}")
        t, prev, arcs = float(instance.ready[0]), 0, []
        for c in route:
            d = math.dist(coords[prev], coords[c])
            arcs.append(d)
            arrival = t + d
            late = arrival - instance.due[c]
            if late > EPS:
                max_late = max(max_late, late)
                problems.append(f"route {k}: customer {c} reached at {arrival:.4f} > due {instance.due[c]}")
            t = max(arrival, float(instance.ready[c])) + instance.service[c]
            prev = c
        back = math.dist(coords[prev], coords[0])
        arcs.append(back)
        if t + back - instance.due[0] > EPS:
            max_late = max(max_late, t + back - instance.due[0])
            problems.append(f"route {k}: back at the depot at {t + back:.4f} > {instance.due[0]}")
        total += math.fsum(arcs)
    return {"feasible": not problems, "distance": total, "vehicles": len(routes), "problems": problems[:10],
            "problem_count": len(problems), "max_late": max_late}


# ---------------------------------------------------------------------------------------------- the solvers


class _Notes(logging.Handler):
    """Keeps what the planner logs (warm start and OR-Tools objectives) for the results file."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def run_ours(instance: SolomonInstance, problem: RoutingProblem, budget: float) -> Outcome:
    notes, planner_log = _Notes(), logging.getLogger("optimizer.search")
    planner_log.addHandler(notes)
    planner_log.setLevel(logging.INFO)
    try:
        start = time.monotonic()
        solution = plan_routes(problem, budget)
        wall = time.monotonic() - start
    finally:
        planner_log.removeHandler(notes)
    return Outcome([[int(v.stop_id) for v in r.visits] for r in solution.routes if r.visits], wall,
                   None if solution.feasible else f"OR-Tools dropped {len(solution.dropped)} stops", notes.lines)


def run_pyvrp(instance: SolomonInstance, problem: RoutingProblem, budget: float) -> Outcome:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    start = time.monotonic()
    n = len(instance.coords)
    distance = np.asarray(problem.distance, dtype=np.int64)
    duration = np.asarray(problem.travel_time, dtype=np.int64)
    np.fill_diagonal(distance, 0)
    np.fill_diagonal(duration, 0)
    locations = [pyvrp.Location(x, y) for x, y in instance.coords]
    depot = pyvrp.Depot(location=0, tw_early=instance.ready[0] * SCALE, tw_late=instance.due[0] * SCALE)
    clients = [pyvrp.Client(location=i, delivery=[instance.demand[i]], service_duration=instance.service[i] * SCALE,
                            tw_early=instance.ready[i] * SCALE, tw_late=instance.due[i] * SCALE)
               for i in range(1, n)]
    fleet = pyvrp.VehicleType(num_available=instance.vehicles, capacity=[instance.capacity],
                              tw_early=instance.ready[0] * SCALE, tw_late=instance.due[0] * SCALE)
    data = pyvrp.ProblemData(locations, clients, [depot], [fleet], [distance], [duration])  # type: ignore[list-item]
    result = pyvrp.solve(data, MaxRuntime(max(budget - (time.monotonic() - start), 0.01)), seed=0,
                         collect_stats=False)
    wall = time.monotonic() - start
    # Client activity idx counts clients from 0; customer numbers start at 1.
    routes = [[a.idx + 1 for a in route if a.is_client()] for route in result.best.routes()]
    return Outcome(routes, wall, None if result.best.is_feasible() else "PyVRP's best solution is infeasible")


def run_vroom(instance: SolomonInstance, problem: RoutingProblem, budget: float) -> Outcome:
    import vroom

    start = time.monotonic()
    n = len(instance.coords)
    vrp = vroom.Input()
    vrp.set_durations_matrix("car", np.asarray(problem.travel_time, dtype=np.uint32))
    vrp.set_costs_matrix("car", np.asarray(problem.distance, dtype=np.uint32))
    shift = vroom.TimeWindow(instance.ready[0] * SCALE, instance.due[0] * SCALE)
    for k in range(instance.vehicles):
        vrp.add_vehicle(vroom.Vehicle(k + 1, start=0, end=0, capacity=[instance.capacity], time_window=shift))
    for i in range(1, n):
        vrp.add_job(vroom.Job(i, location=i, default_service=instance.service[i] * SCALE,
                              delivery=[instance.demand[i]],
                              time_windows=[vroom.TimeWindow(instance.ready[i] * SCALE, instance.due[i] * SCALE)]))
    left = max(budget - (time.monotonic() - start), 0.01)
    solution = vrp.solve(exploration_level=5, nb_threads=1, timeout=dt.timedelta(seconds=left))
    wall = time.monotonic() - start
    routes = [[int(step["id"]) for step in route["steps"] if step["type"] == "job"]
              for route in solution.to_dict()["routes"]]
    unassigned = len(solution.to_dict().get("unassigned", []))
    return Outcome(routes, wall, f"VROOM left {unassigned} jobs unassigned" if unassigned else None)


RUNNERS: dict[str, Callable[[SolomonInstance, RoutingProblem, float], Outcome]] = {
    "ours": run_ours, "pyvrp": run_pyvrp, "vroom": run_vroom}


# ---------------------------------------------------------------------------------------------- running and reporting


def run_case(case: Case, solvers: list[str]) -> dict[str, Any]:
    instance = read(case.path)
    problem = to_problem(instance)
    row: dict[str, Any] = {
        "instance": case.name, "group": case.group, "customers": len(instance.coords) - 1,
        "fleet": instance.vehicles, "time_limit_s": case.time_limit_s,
        "bks": {"distance": round(case.bks_distance, 4), "vehicles": case.bks_vehicles,
                "objective": case.bks_objective, "note": case.bks_note},
        "solvers": {}}
    for name in solvers:
        try:
            outcome = RUNNERS[name](instance, problem, case.time_limit_s)
        except Exception as exc:  # a solver crash is a result too: report it and go on
            row["solvers"][name] = {"feasible": False, "error": f"{type(exc).__name__}: {exc}"}
            continue
        check = check_routes(instance, outcome.routes)
        feasible = check["feasible"] and outcome.error is None
        gap = (check["distance"] - case.bks_distance) / case.bks_distance * 100 if feasible else None
        row["solvers"][name] = {
            "distance": round(check["distance"], 4) if feasible else None, "vehicles": check["vehicles"],
            "feasible": feasible, "gap_pct": None if gap is None else round(gap, 3),
            "wall_s": round(outcome.wall_s, 2), "solver_error": outcome.error,
            "checker_problems": check["problems"], "checker_problem_count": check["problem_count"],
            "notes": outcome.notes, "routes": outcome.routes}
    return row


def group_means(rows: list[dict[str, Any]], solvers: list[str]) -> dict[str, dict[str, Any]]:
    means: dict[str, dict[str, Any]] = {}
    for group in dict.fromkeys(r["group"] for r in rows):
        members = [r for r in rows if r["group"] == group]
        means[group] = {"instances": len(members), "time_limits_s": sorted({r["time_limit_s"] for r in members}),
                        "bks_objective": sorted({r["bks"]["objective"] for r in members})}
        for name in solvers:
            gaps = [r["solvers"][name]["gap_pct"] for r in members if r["solvers"][name].get("feasible")]
            means[group][name] = {"mean_gap_pct": round(statistics.fmean(gaps), 3) if gaps else None,
                                  "feasible": len(gaps),
                                  "mean_vehicles": round(statistics.fmean(
                                      r["solvers"][name]["vehicles"] for r in members
                                      if r["solvers"][name].get("feasible")), 2) if gaps else None}
    return means


def _pct(value: float | None) -> str:
    return "infeasible" if value is None else f"{value:.2f}%"


def table(rows: list[dict[str, Any]], means: dict[str, dict[str, Any]], solvers: list[str]) -> str:
    head = f"{'instance':10} {'n':>5} {'s':>4} {'BKS dist':>10} {'veh':>4}"
    for name in solvers:
        head += f" | {name + ' dist':>11} {'veh':>4} {'gap':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        star = "*" if r["bks"]["objective"] == "hier" else " "
        line = (f"{r['instance']:10} {r['customers']:>5} {r['time_limit_s']:>4.0f} {r['bks']['distance']:>10.2f}"
                f"{star}{r['bks']['vehicles']:>4} ")
        for name in solvers:
            s = r["solvers"][name]
            if s.get("feasible"):
                line += f"| {s['distance']:>11.2f} {s['vehicles']:>4} {s['gap_pct']:>7.2f}% "
            else:
                line += f"| {'infeasible':>11} {s.get('vehicles', '-'):>4} {'':>8} "
        lines.append(line.rstrip())
    lines.append("")
    lines.append("mean gap per group (feasible instances / all; * = reference is the hierarchical BKS):")
    for group, m in means.items():
        star = "*" if "hier" in m["bks_objective"] else ""
        cells = ", ".join(f"{name} {_pct(m[name]['mean_gap_pct'])} ({m[name]['feasible']}/{m['instances']}, "
                          f"{m[name]['mean_vehicles']} veh)" for name in solvers)
        lines.append(f"  {group}{star} at {'/'.join(f'{t:g}' for t in m['time_limits_s'])}s: {cells}")
    return "\n".join(lines)


def summary_line(rows: list[dict[str, Any]], means: dict[str, dict[str, Any]], solvers: list[str]) -> str:
    def gaps(get: Callable[[str], float | None]) -> tuple[str, ...]:
        return tuple(_pct(get(name)) if name in solvers else "not run" for name in SOLVERS)

    parts = []
    if "solomon" in means:
        m = means["solomon"]
        a, b, c = gaps(lambda s: m[s]["mean_gap_pct"])
        limit = "/".join(f"{t:g}" for t in m["time_limits_s"])
        parts.append(f"solomon mean gap {a} (pyvrp {b}, vroom {c}) at {limit}s"
                     + ("" if m["instances"] == 56 else f" over {m['instances']} of 56 instances"))
    else:
        parts.append("solomon not run")
    big = next((r for r in rows if r["instance"] == "r1_10_1"), None)
    if big is not None:
        a, b, c = gaps(lambda s: big["solvers"][s].get("gap_pct"))
        parts.append(f"r1_10_1 gap {a} (pyvrp {b}, vroom {c}) at {big['time_limit_s']:g}s")
    else:
        parts.append("r1_10_1 not run")
    return "bench-routing: " + "; ".join(parts)


GROUP_TITLES = {"solomon": "Solomon, 100 customers", "homberger_200": "Gehring & Homberger, 200",
                "homberger_400": "Gehring & Homberger, 400", "homberger_600": "Gehring & Homberger, 600",
                "homberger_800": "Gehring & Homberger, 800", "homberger_1000": "Gehring & Homberger, 1000"}


def markdown(result: dict[str, Any]) -> str:
    """The README table: mean gap per group and solver, then r1_10_1 alone, then the targets against the numbers."""
    solvers, rows, means = result["args"]["solvers"], result["instances"], result["means"]

    def cell(gap: float | None, feasible: int, count: int, vehicles: float | None) -> str:
        if gap is None:
            return f"no feasible run (0/{count})"
        return f"{gap:.2f}% ({vehicles:g} veh)" + ("" if feasible == count else f", {feasible}/{count} feasible")

    head = "| instances | time per solver | reference | " + " | ".join(
        {"ours": "ours (plan_routes)", "pyvrp": "PyVRP", "vroom": "VROOM"}[s] for s in solvers) + " |"
    lines = [head, "|" + "---|" * (3 + len(solvers))]
    for group, m in means.items():
        names = [r["instance"] for r in rows if r["group"] == group]
        what = f"{GROUP_TITLES.get(group, group)}: " + (f"all {len(names)}" if group == "solomon" and len(names) == 56
                                                         else ", ".join(names))
        reference = "hierarchical BKS ⚠" if "hier" in m["bks_objective"] else "distance BKS"
        lines.append(f"| {what} | {'/'.join(f'{t:g}' for t in m['time_limits_s'])} s | {reference} | " + " | ".join(
            cell(m[s]["mean_gap_pct"], m[s]["feasible"], m["instances"], m[s]["mean_vehicles"]) for s in solvers)
            + " |")
    big = next((r for r in rows if r["instance"] == "r1_10_1"), None)
    if big is not None:
        lines.append(f"| r1_10_1 alone (BKS {big['bks']['distance']:.2f}, {big['bks']['vehicles']} veh) | "
                     f"{big['time_limit_s']:g} s | distance BKS | " + " | ".join(
                         f"{s_['gap_pct']:.2f}% ({s_['distance']:.0f}, {s_['vehicles']} veh)" if s_.get("feasible")
                         else "infeasible" for s_ in (big["solvers"][s] for s in solvers)) + " |")
    lines.append("")
    lines += [f"* {line}" for line in targets(result)]
    lines.append("")
    lines.append(f"Measured {result['finished_at'][:10]} on this machine ({result['machine']['cpus']} cores), commit "
                 f"{result['commit']}, OR-Tools {result['versions']['ortools']}, PyVRP {result['versions']['pyvrp']}, "
                 f"pyvroom {result['versions']['pyvroom']}. Gap = mean over the group of (distance − BKS) / BKS; "
                 "(veh) = mean vehicles used.")
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[str]:
    """Issue #4's targets against the measured numbers (only those this run measured)."""
    found = []
    solomon = result["means"].get("solomon")
    if solomon and "ours" in solomon:
        gap = solomon["ours"]["mean_gap_pct"]
        measured = solomon["instances"] == 56 and solomon["time_limits_s"] == [10.0]
        met = gap is not None and gap <= 1.0 and solomon["ours"]["feasible"] == solomon["instances"]
        verdict = ("met" if met else "missed") if measured else "not measured (another set or time limit)"
        found.append(f"Solomon 100, mean gap at most 1 % at 10 s: {verdict}, "
                     f"{_pct(gap)} over {solomon['ours']['feasible']} feasible of {solomon['instances']} instances "
                     f"at {'/'.join(f'{t:g}' for t in solomon['time_limits_s'])} s")
    big = next((r for r in result["instances"] if r["instance"] == "r1_10_1"), None)
    if big is not None and {"ours", "pyvrp", "vroom"} <= set(big["solvers"]):
        ours, pyvrp, vroom = (big["solvers"][s].get("gap_pct") for s in ("ours", "pyvrp", "vroom"))
        if ours is None:
            found.append(f"r1_10_1 at {big['time_limit_s']:g} s: missed, our routes were infeasible")
        else:
            beat = vroom is None or ours < vroom
            close = pyvrp is None or ours - pyvrp <= 2.0
            found.append(f"r1_10_1 at {big['time_limit_s']:g} s"
                         f"{'' if big['time_limit_s'] == 60 else ' (the targets are at 60 s)'}, "
                         f"better than VROOM: {'met' if beat else 'missed'} "
                         f"({ours:.2f} % against {_pct(vroom)}); within 2 points of PyVRP: "
                         f"{'met' if close else 'missed'} ({ours - pyvrp if pyvrp is not None else 0:+.2f} points, "
                         f"PyVRP {_pct(pyvrp)})")
    return found


def _git_commit() -> str | None:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+uncommitted" if _uncommitted() else "")


def _uncommitted() -> list[str]:
    """Files this benchmark runs that differ from the commit (the optimizer, this script, pyproject)."""
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--", "optimizer", "bench/routing.py",
                                 "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in status.splitlines() if not line[3:].startswith("bench/results")]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("ortools", "pyvrp", "pyvroom"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def select_cases(args: argparse.Namespace) -> list[Case]:
    files, bks = _instance_files(), _bks_rows()
    if args.instances:
        wanted = [w.strip().lower() for w in args.instances.split(",") if w.strip()]
    elif args.quick:
        wanted = list(QUICK)
    else:
        wanted = [name for name, (group, _) in files.items() if group == "solomon"] + list(DEFAULT_LARGE)
    names: list[str] = []
    for w in wanted:  # a name, a group (solomon, homberger_200, ...) or a regular expression over names
        if w in files:
            names.append(w)
        elif any(group == w for group, _ in files.values()):
            names += [name for name, (group, _) in files.items() if group == w]
        else:
            matched = [name for name in files if re.fullmatch(w, name)]
            if not matched:
                raise SystemExit(f"unknown instance {w!r}; known: groups {sorted({g for g, _ in files.values()})} "
                                 f"and names such as {', '.join(list(files)[:5])}")
            names += matched
    cases = []
    for name in dict.fromkeys(names):
        group, path = files[name]
        limit = args.time_limit if group == "solomon" else args.large_time_limit
        cases.append(make_case(name, group, path, limit, bks))
    return cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.routing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", help="comma-separated names (r101, r1_10_1), groups (solomon, homberger_1000) "
                        "or regular expressions (r1.*); default: every Solomon instance and "
                        + ", ".join(DEFAULT_LARGE))
    parser.add_argument("--time-limit", type=float, help="seconds per solver, Solomon (default 10; 5 with --quick)")
    parser.add_argument("--large-time-limit", type=float, default=60.0,
                        help="seconds per solver, Gehring & Homberger (default 60)")
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset of ours,pyvrp,vroom")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)} at 5 s (unless --time-limit)")
    parser.add_argument("--markdown", action="store_true",
                        help=f"run nothing: print the README table of {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    if args.time_limit is None:
        args.time_limit = 5.0 if args.quick else 10.0
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if not solvers or any(s not in SOLVERS for s in solvers):
        parser.error(f"--solvers takes names from {', '.join(SOLVERS)}")
    if args.time_limit <= 0 or args.large_time_limit <= 0:
        parser.error("time limits must be positive")
    if not DATA.is_dir():
        raise SystemExit(f"benchmark data not found at {DATA}")
    cases = select_cases(args)
    commit, started = _git_commit(), dt.datetime.now(dt.UTC)
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    total = sum(c.time_limit_s for c in cases) * len(solvers)
    print(f"bench-routing: {len(cases)} instances × {len(solvers)} solvers ({', '.join(solvers)}), about "
          f"{total / 60:.0f} min of solver time; data {DATA}; commit {commit}; {os.cpu_count()} CPUs", flush=True)
    rows: list[dict[str, Any]] = []

    def save(complete: bool) -> dict[str, Any]:
        """Written after every instance, so an interrupted run still leaves its figures (complete: false)."""
        means = group_means(rows, solvers)
        result = {
            "benchmark": "routing", "issue": 4, "complete": complete,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit,
            "commit_at_end": _git_commit(), "uncommitted_files": _uncommitted(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average_at_start": load_at_start,
                        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None},
            "versions": _versions(),
            "args": {"instances": [c.name for c in cases], "time_limit_s": args.time_limit,
                     "large_time_limit_s": args.large_time_limit, "solvers": solvers, "quick": args.quick},
            "settings": {"scale": SCALE, "threads": 1, "pyvrp": "MaxRuntime(budget), seed 0",
                         "vroom": "exploration level 5, 1 thread, timeout budget",
                         "ours": "optimizer.search.plan_routes(problem, budget) with its default PlanOptions"},
            "means": means, "instances": rows, "summary": summary_line(rows, means, solvers)}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        return result

    for i, case in enumerate(cases, 1):
        row = run_case(case, solvers)
        rows.append(row)
        cells = "  ".join(
            f"{name} " + (f"{s['distance']:.2f}/{s['vehicles']} ({s['gap_pct']:+.2f}%, {s['wall_s']:.1f}s)"
                          if s.get("feasible") else f"INFEASIBLE ({s.get('error') or s.get('solver_error') or ''}"
                          f"{'; ' if s.get('checker_problems') else ''}{'; '.join(s.get('checker_problems', [])[:2])})")
            for name, s in row["solvers"].items())
        print(f"[{i}/{len(cases)}] {case.name} BKS {case.bks_distance:.2f}/{case.bks_vehicles}"
              f"{' (hier)' if case.bks_objective == 'hier' else ''}: {cells}", flush=True)
        save(complete=i == len(cases))
    result = save(complete=True)
    means = result["means"]
    print()
    print(table(rows, means, solvers))
    print(f"\nfigures written to {RESULTS.relative_to(ROOT)}")
    print(result["summary"])


if __name__ == "__main__":
    main()
