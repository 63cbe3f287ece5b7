"""Vehicle routing with OR-Tools: capacities, time windows, shifts, permits and optional stops."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .model import Route, RoutingProblem, RoutingSolution, Visit


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
    options = options or SearchOptions()
    stops, vehicles = problem.stops, problem.vehicles
    # Routing-model nodes: one per vehicle start/end depot node used, then one per stop (stops may share a place).
    depot_nodes = sorted({v.start_node for v in vehicles} | {v.end_node for v in vehicles})
    model_nodes = depot_nodes + [s.node for s in stops]
    index_of_depot = {node: i for i, node in enumerate(depot_nodes)}
    manager = pywrapcp.RoutingIndexManager(
        len(model_nodes), len(vehicles),
        [index_of_depot[v.start_node] for v in vehicles], [index_of_depot[v.end_node] for v in vehicles])
    routing = pywrapcp.RoutingModel(manager)
    first_stop = len(depot_nodes)

    def place(index: int) -> int:
        return int(model_nodes[manager.IndexToNode(index)])

    def service(index: int) -> int:
        node = manager.IndexToNode(index)
        return stops[node - first_stop].service if node >= first_stop else 0

    distance_cb = routing.RegisterTransitCallback(
        lambda i, j: problem.distance[place(i)][place(j)])
    time_cb = routing.RegisterTransitCallback(
        lambda i, j: service(i) + problem.travel_time[place(i)][place(j)])
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)
    if options.fixed_vehicle_cost:
        routing.SetFixedCostOfAllVehicles(options.fixed_vehicle_cost)

    horizon = max([v.shift[1] for v in vehicles] + [s.window[1] for s in stops] + [0])
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for k in range(len(vehicles[0].capacity) if vehicles else 0):
        load_cb = routing.RegisterUnaryTransitCallback(
            lambda i, k=k: stops[manager.IndexToNode(i) - first_stop].load[k]
            if manager.IndexToNode(i) >= first_stop else 0)
        routing.AddDimensionWithVehicleCapacity(load_cb, 0, [v.capacity[k] for v in vehicles], True, f"load{k}")

    vehicle_ids = [v.vehicle_id for v in vehicles]
    for position, stop in enumerate(stops):
        index = manager.NodeToIndex(first_stop + position)
        time_dim.CumulVar(index).SetRange(stop.window[0], stop.window[1])
        if stop.allowed_vehicles is not None:
            allowed = [i for i, vid in enumerate(vehicle_ids) if vid in stop.allowed_vehicles]
            routing.VehicleVar(index).SetValues([-1, *allowed])  # -1: unserved, when the stop may be dropped
        if stop.drop_penalty is not None:
            routing.AddDisjunction([index], stop.drop_penalty)
    for v, vehicle in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(vehicle.shift[0], vehicle.shift[1])
        time_dim.CumulVar(routing.End(v)).SetRange(vehicle.shift[0], vehicle.shift[1])
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, options.first_solution)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic)
    params.time_limit.FromMilliseconds(int(options.time_limit_s * 1000))
    params.log_search = options.log_search
    assignment = None
    if initial_routes is not None:
        index_of_stop = {stop.stop_id: manager.NodeToIndex(first_stop + i) for i, stop in enumerate(stops)}
        routing.CloseModelWithParameters(params)
        initial = routing.ReadAssignmentFromRoutes(
            [[index_of_stop[sid] for sid in route if sid in index_of_stop] for route in initial_routes], True)
        if initial is not None:
            assignment = routing.SolveFromAssignmentWithParameters(initial, params)
    if assignment is None:
        assignment = routing.SolveWithParameters(params)
    if assignment is None:
        return RoutingSolution(routes=[Route(vid) for vid in vehicle_ids], dropped=[s.stop_id for s in stops],
                               objective=0, feasible=False)
    routes: list[Route] = []
    served: set[str] = set()
    for v, vid in enumerate(vehicle_ids):
        route = Route(vid)
        index = routing.Start(v)
        while not routing.IsEnd(index):
            nxt = assignment.Value(routing.NextVar(index))
            node = manager.IndexToNode(index)
            if node >= first_stop:
                stop = stops[node - first_stop]
                route.visits.append(Visit(stop.stop_id, assignment.Value(time_dim.CumulVar(index))))
                served.add(stop.stop_id)
            route.distance += problem.distance[place(index)][place(nxt)]
            index = nxt
        routes.append(route)
    dropped = [s.stop_id for s in stops if s.stop_id not in served]
    mandatory_dropped = any(s.drop_penalty is None for s in stops if s.stop_id in dropped)
    return RoutingSolution(routes=routes, dropped=dropped, objective=assignment.ObjectiveValue(),
                           feasible=not mandatory_dropped)
