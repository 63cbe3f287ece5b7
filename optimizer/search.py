"""The product's route planner: `plan_routes(problem, time_limit_s)`.

1. Warm start: PyVRP (`optimizer.warm_start`) searches for `warm_share` of the budget, when it can represent the
   problem exactly; otherwise OR-Tools starts from its own first solution.
2. Polish: the OR-Tools model (`optimizer.routing.solve`, which holds every constraint) starts from those routes and
   searches for the rest of the budget. The routes returned always come from the OR-Tools model, so they satisfy
   its constraints, and its objective (distance plus the penalties of dropped stops) is never worse than the warm
   start's: the OR-Tools search starts from it and returns the best solution it has seen, and should no round have
   restored the warm start by the deadline (a very loaded machine), one more OR-Tools run restores it, late.

OR-Tools does not always stop at its time limit: on 1,000 stops it was seen spending 27 s past a 20 s limit while
proving that a local optimum had no improving neighbour. So the polish runs in a forked child process, in rounds
(a short first one, then `rounds` of equal length), each starting from the best routes so far and sending its
solution back as soon as it ends; at the deadline the parent keeps the best solution received and ends the child.
Only when no round has ended by then does the parent wait for the first one. Where fork is unavailable (or this is
a daemonic process, which may not have children), the rounds run in this process and may overrun.

Fleet: at most `problem.vehicles`; no fixed vehicle cost, so the objective is total distance (plus penalties).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection

from .model import RoutingProblem, RoutingSolution
from .routing import SearchOptions, solve
from .warm_start import pyvrp_routes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanOptions:
    warm_share: float = 0.85  # share of the budget for PyVRP; 0 disables the warm start
    rounds: int = 3  # OR-Tools rounds in the rest of the budget (each restarts from the previous round's routes)
    first_round_s: float = 0.05  # a first short round (at least 0.5 ms per stop): an OR-Tools solution early
    search: SearchOptions = field(default_factory=lambda: SearchOptions(metaheuristic="GUIDED_LOCAL_SEARCH"))
    seed: int = 0
    use_fork: bool = True


def _routes_of(solution: RoutingSolution) -> list[list[str]]:
    return [[visit.stop_id for visit in route.visits] for route in solution.routes]


def _polish_rounds(problem: RoutingProblem, initial: list[list[str]] | None, deadline: float,
                   options: PlanOptions, send: Connection | None = None) -> RoutingSolution | None:
    """OR-Tools rounds until the deadline; each solution goes to `send` (if given) as soon as it exists."""
    current, best = initial, None
    budget = max(deadline - time.monotonic(), 0.0)
    # Too short a first round ends before OR-Tools has even restored the warm start (about 0.3 s at 1,000 stops).
    lengths = [max(options.first_round_s, 0.0005 * len(problem.stops))] if initial is not None else []
    lengths += [budget / max(options.rounds, 1)] * max(options.rounds, 1)
    for i, length in enumerate(lengths):
        remaining = deadline - time.monotonic()
        if best is not None and remaining < 0.05:
            break
        limit = max(remaining if i == len(lengths) - 1 else min(length, remaining), 0.01)
        solution = solve(problem, replace(options.search, time_limit_s=limit), initial_routes=current)
        if best is None or (solution.feasible, -solution.objective) > (best.feasible, -best.objective):
            best = solution
            if send is not None:
                send.send(solution)
        if best.feasible:  # never trade the warm start for the routes of a round that found nothing
            current = _routes_of(best)
    return best


def _child(send: Connection, problem: RoutingProblem, initial: list[list[str]] | None, deadline: float,
           options: PlanOptions) -> None:
    try:
        _polish_rounds(problem, initial, deadline, options, send)
    finally:
        send.close()


def _polish(problem: RoutingProblem, initial: list[list[str]] | None, deadline: float,
            options: PlanOptions) -> RoutingSolution:
    forkable = "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon
    if not options.use_fork or not forkable:
        found = _polish_rounds(problem, initial, deadline, options)
        assert found is not None
        return found
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, problem, initial, deadline, options), daemon=True)
    child.start()
    send.close()
    best: RoutingSolution | None = None
    try:
        while True:
            timeout = None if best is None else max(deadline - time.monotonic(), 0.0)
            if not receive.poll(timeout):
                break  # the deadline, with a solution in hand
            try:
                best = receive.recv()
            except EOFError:
                break  # the child finished all its rounds
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if best is None:  # the child died without a solution: search here
        log.warning("OR-Tools polish process ended with exit code %s and no solution; searching in-process",
                    child.exitcode)
        best = solve(problem, replace(options.search, time_limit_s=max(deadline - time.monotonic(), 0.01)),
                     initial_routes=initial)
    return best


def routes_cost(problem: RoutingProblem, routes: list[list[str]]) -> int:
    """The OR-Tools objective of routes (stop ids per vehicle): distance of the used vehicles' routes plus the drop
    penalties of the stops left out."""
    node = {s.stop_id: s.node for s in problem.stops}
    total = 0
    for vehicle, route in zip(problem.vehicles, routes, strict=False):
        if route:
            path = [vehicle.start_node, *(node[sid] for sid in route), vehicle.end_node]
            total += sum(problem.distance[a][b] for a, b in itertools.pairwise(path))
    served = {sid for route in routes for sid in route}
    return total + sum(s.drop_penalty or 0 for s in problem.stops if s.stop_id not in served)


def plan_routes(problem: RoutingProblem, time_limit_s: float, options: PlanOptions | None = None) -> RoutingSolution:
    """Routes for `problem` within about `time_limit_s` seconds of wall-clock time (see the module docstring).

    The fleet is capped at `problem.vehicles`; the objective is total distance plus the penalties of dropped stops.
    """
    options = options or PlanOptions()
    start = time.monotonic()
    deadline = start + time_limit_s
    initial = None
    warm_cost = None
    if options.warm_share > 0:
        initial = pyvrp_routes(problem, time_limit_s * options.warm_share, seed=options.seed)
        warm_cost = None if initial is None else routes_cost(problem, initial)
        log.info("warm start: %s after %.2fs", "none" if warm_cost is None else f"PyVRP, objective {warm_cost}",
                 time.monotonic() - start)
    solution = _polish(problem, initial, deadline, options)
    log.info("OR-Tools: objective %s%s after %.2fs", solution.objective if solution.feasible else "(infeasible)",
             "" if warm_cost is None or not solution.feasible or not warm_cost
             else f" ({(solution.objective - warm_cost) / warm_cost * 100:+.3f}% against the warm start)",
             time.monotonic() - start)
    if warm_cost is not None and (not solution.feasible or solution.objective > warm_cost):
        # No OR-Tools round restored the warm start in time (a very loaded machine): restore it now, past the
        # deadline if need be, so the plan is never worse than the warm start.
        log.warning("OR-Tools rounds ended worse than the warm start; restoring the warm start")
        again = solve(problem, replace(options.search, time_limit_s=0.5 + 0.001 * len(problem.stops)),
                      initial_routes=initial)
        if (again.feasible, -again.objective) > (solution.feasible, -solution.objective):
            solution = again
    return solution
