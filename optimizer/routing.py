"""Vehicle routing with OR-Tools: capacities, time windows, shifts, permits, optional stops, several trips per
vehicle, perishables' ride limits, pickup-and-delivery pairs, and stability against a previous plan."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .model import Route, RoutingProblem, RoutingSolution, StopKind, Visit


@dataclass(frozen=True)
class SearchOptions:
    time_limit_s: float = 10.0
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    fixed_vehicle_cost: int = 0  # > 0 to prefer fewer vehicles
    log_search: bool = False


def solve(problem: RoutingProblem, options: SearchOptions | None = None,
          initial_routes: list[list[str]] | None = None) -> RoutingSolution:
    """Build the model, search within the time limit, and return the routes (never prints).

    `initial_routes` (stop ids per vehicle, in the order of `problem.vehicles`) warm-starts the search, e.g. from the
    previous plan or another solver's routes; stops it leaves out start unserved. If the routes break a constraint
    of this model, the search starts from scratch instead.
    """
    model = _Model(problem, options or SearchOptions())
    return model.solve(initial_routes)


class _Model:
    """One OR-Tools routing model. Each vehicle is expanded into one routing vehicle per trip."""

    def __init__(self, problem: RoutingProblem, options: SearchOptions) -> None:
        self.problem, self.options = problem, options
        stops, vehicles = problem.stops, problem.vehicles
        # (physical vehicle, trip) per routing vehicle; trip 0 leaves from the vehicle's start, later trips from
        # its depot after reloading.
        self.trips = [(p, k) for p, v in enumerate(vehicles) for k in range(v.trips)]
        starts = [vehicles[p].start_node if k == 0 else vehicles[p].end_node for p, k in self.trips]
        ends = [vehicles[p].end_node for p, _ in self.trips]
        depot_nodes = sorted(set(starts) | set(ends))
        self.places = depot_nodes + [s.node for s in stops]  # routing node → matrix node
        self.first_stop = len(depot_nodes)
        at = {node: i for i, node in enumerate(depot_nodes)}
        self.manager = pywrapcp.RoutingIndexManager(len(self.places), len(self.trips),
                                                    [at[n] for n in starts], [at[n] for n in ends])
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.index = {s.stop_id: self.manager.NodeToIndex(self.first_stop + i) for i, s in enumerate(stops)}
        self.horizon = max([v.shift[1] for v in vehicles] + [s.window[1] for s in stops] + [0])
        self._costs()
        self.time = self._time()
        self._loads()
        self._stops()
        self._trips()
        self._pairs()
        self._ride_limits()

    # --- model -------------------------------------------------------------------------------------------------

    def _matrix(self, source: list[list[int]], service: bool = False) -> list[list[int]]:
        stops, first = self.problem.stops, self.first_stop
        rows = []
        for a, pa in enumerate(self.places):
            extra = stops[a - first].service if service and a >= first else 0
            row = source[pa]
            rows.append([extra + row[pb] for pb in self.places])
        return rows

    def _costs(self) -> None:
        routing, problem = self.routing, self.problem
        distance = self._matrix(problem.distance)
        if not (problem.previous and problem.change_penalty):
            routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(distance))
        else:
            # Entering a stop of the previous plan with another vehicle costs the change penalty, once per stop.
            stop_of = {self.first_stop + i: s.stop_id for i, s in enumerate(problem.stops)}
            for p, vehicle in enumerate(problem.vehicles):
                moved = [j for j, sid in stop_of.items() if problem.previous.get(sid, vehicle.vehicle_id)
                         != vehicle.vehicle_id]
                matrix = [row[:] for row in distance]
                for row in matrix:
                    for j in moved:
                        row[j] += problem.change_penalty
                callback = routing.RegisterTransitMatrix(matrix)
                for v, (q, _) in enumerate(self.trips):
                    if q == p:
                        routing.SetArcCostEvaluatorOfVehicle(callback, v)
        if self.options.fixed_vehicle_cost:
            routing.SetFixedCostOfAllVehicles(self.options.fixed_vehicle_cost)

    def _time(self) -> pywrapcp.RoutingDimension:
        routing = self.routing
        self.time_cb = routing.RegisterTransitMatrix(self._matrix(self.problem.travel_time, service=True))
        routing.AddDimension(self.time_cb, self.horizon, self.horizon, False, "time")
        time = routing.GetDimensionOrDie("time")
        for v, (p, _) in enumerate(self.trips):
            shift = self.problem.vehicles[p].shift
            time.CumulVar(routing.Start(v)).SetRange(*shift)
            time.CumulVar(routing.End(v)).SetRange(*shift)
            routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
            routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(v)))
        return time

    def _loads(self) -> None:
        """One dimension per capacity unit. With pickups, the load is what is on board: a trip leaves its depot
        holding every drop it will make (start free), drops and deliveries unload, pickups load, and it comes back
        empty (end 0). Without pickups, the classic cumulative form."""
        routing, problem = self.routing, self.problem
        signed = bool(problem.pairs)
        sign = {StopKind.DROP: -1 if signed else 1, StopKind.PICKUP: 1, StopKind.DELIVERY: -1}
        for k in range(len(problem.vehicles[0].capacity) if problem.vehicles else 0):
            values = [0] * self.first_stop + [sign[s.kind] * s.load[k] for s in problem.stops]
            callback = routing.RegisterUnaryTransitVector(values)
            capacities = [problem.vehicles[p].capacity[k] for p, _ in self.trips]
            routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, not signed, f"load{k}")
            if signed:
                dim = routing.GetDimensionOrDie(f"load{k}")
                for v in range(len(self.trips)):
                    dim.CumulVar(routing.End(v)).SetValue(0)

    def _stops(self) -> None:
        routing = self.routing
        trips_of: dict[str, list[int]] = {}
        first_trip: dict[str, int] = {}
        for v, (p, k) in enumerate(self.trips):
            vid = self.problem.vehicles[p].vehicle_id
            trips_of.setdefault(vid, []).append(v)
            if k == 0:
                first_trip[vid] = v
        # A truck on the road (re-planning) finishes its current trip with what is on board: new drops, loaded at
        # the depot, go on its later trips only.
        on_road = {v for v, (p, k) in enumerate(self.trips)
                   if k == 0 and self.problem.vehicles[p].start_node != self.problem.vehicles[p].end_node}
        for stop in self.problem.stops:
            index = self.index[stop.stop_id]
            self.time.CumulVar(index).SetRange(*stop.window)
            if stop.pinned_vehicle is not None:  # on board already: served by that vehicle before it reloads
                routing.VehicleVar(index).SetValues([-1, first_trip[stop.pinned_vehicle]])
            elif stop.allowed_vehicles is not None or (on_road and stop.kind is StopKind.DROP):
                vehicles = trips_of if stop.allowed_vehicles is None else stop.allowed_vehicles
                allowed = [v for vid in sorted(vehicles) for v in trips_of.get(vid, [])
                           if not (stop.kind is StopKind.DROP and v in on_road)]
                routing.VehicleVar(index).SetValues([-1, *allowed])  # -1: unserved, when the stop may be dropped
            if stop.drop_penalty is not None:
                routing.AddDisjunction([index], stop.drop_penalty)

    def _trips(self) -> None:
        """A vehicle's next trip starts after the previous one ended and it reloaded; trips are used in order."""
        routing, solver = self.routing, self.routing.solver()
        for v in range(1, len(self.trips)):
            (p, k), (q, _) = self.trips[v], self.trips[v - 1]
            if k == 0 or p != q:
                continue
            reload = self.problem.vehicles[p].reload_time
            solver.Add(self.time.CumulVar(routing.Start(v))
                       >= self.time.CumulVar(routing.End(v - 1)) + reload * routing.ActiveVehicleVar(v))
            solver.Add(routing.ActiveVehicleVar(v) <= routing.ActiveVehicleVar(v - 1))

    def _pairs(self) -> None:
        routing, solver = self.routing, self.routing.solver()
        for pickup, delivery in self.problem.pairs:
            i, j = self.index[pickup], self.index[delivery]
            routing.AddPickupAndDelivery(i, j)
            solver.Add(routing.VehicleVar(i) == routing.VehicleVar(j))
            solver.Add(routing.ActiveVar(i) == routing.ActiveVar(j))
            solver.Add(self.time.CumulVar(i) <= self.time.CumulVar(j))

    def _ride_limits(self) -> None:
        """Perishables: a 'ride' dimension counts the time since the trip left its depot, waiting included (its
        slack is tied to the time dimension's), and is capped at each such stop."""
        limited = [s for s in self.problem.stops if s.max_ride is not None]
        if not limited:
            return
        routing, solver = self.routing, self.routing.solver()
        routing.AddDimension(self.time_cb, self.horizon, self.horizon, True, "ride")
        ride = routing.GetDimensionOrDie("ride")
        for i in range(routing.Size()):
            solver.Add(ride.SlackVar(i) == self.time.SlackVar(i))
        for stop in limited:
            ride.CumulVar(self.index[stop.stop_id]).SetMax(stop.max_ride)

    # --- search ------------------------------------------------------------------------------------------------

    def solve(self, initial_routes: list[list[str]] | None) -> RoutingSolution:
        routing, options = self.routing, self.options
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, options.first_solution)
        params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic,
                                                    options.metaheuristic)
        params.time_limit.FromMilliseconds(int(options.time_limit_s * 1000))
        params.log_search = options.log_search
        assignment = None
        if initial_routes is not None:
            routing.CloseModelWithParameters(params)
            first_trip = {p: v for v, (p, k) in enumerate(self.trips) if k == 0}
            routes: list[list[int]] = [[] for _ in self.trips]
            for p, stop_ids in enumerate(initial_routes[:len(self.problem.vehicles)]):
                routes[first_trip[p]] = [self.index[s] for s in stop_ids if s in self.index]
            initial = routing.ReadAssignmentFromRoutes(routes, True)
            if initial is not None:
                assignment = routing.SolveFromAssignmentWithParameters(initial, params)
        if assignment is None:
            assignment = routing.SolveWithParameters(params)
        return self._solution(assignment)

    def _solution(self, assignment: pywrapcp.Assignment | None) -> RoutingSolution:
        problem, routing, manager = self.problem, self.routing, self.manager
        routes = [Route(v.vehicle_id) for v in problem.vehicles]
        if assignment is None:
            return RoutingSolution(routes=routes, dropped=[s.stop_id for s in problem.stops], objective=0,
                                   feasible=False)
        served: set[str] = set()
        for v, (p, k) in enumerate(self.trips):
            route, index = routes[p], routing.Start(v)
            if routing.IsEnd(assignment.Value(routing.NextVar(index))):
                continue
            route.departures.append(assignment.Value(self.time.CumulVar(index)))
            while not routing.IsEnd(index):
                nxt = assignment.Value(routing.NextVar(index))
                node = manager.IndexToNode(index)
                if node >= self.first_stop:
                    stop = problem.stops[node - self.first_stop]
                    route.visits.append(Visit(stop.stop_id, assignment.Value(self.time.CumulVar(index)), k))
                    served.add(stop.stop_id)
                route.distance += problem.distance[self.places[node]][self.places[manager.IndexToNode(nxt)]]
                index = nxt
        dropped = [s.stop_id for s in problem.stops if s.stop_id not in served]
        mandatory_dropped = any(s.drop_penalty is None for s in problem.stops if s.stop_id in dropped)
        return RoutingSolution(routes=routes, dropped=dropped, objective=assignment.ObjectiveValue(),
                               feasible=not mandatory_dropped)
