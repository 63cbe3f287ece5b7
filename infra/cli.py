"""The `greenlane` command line: one entry point for every process and operator task."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from infra import dlq
from infra.logs import configure_logging, logging_config, secrets_of
from infra.settings import get_settings

SERVICES = ("api", "streams", "optimizer")  # long-running processes: structured, redacting logs (infra/logs.py)


def _load_geodata(args: argparse.Namespace) -> None:
    from services.adapters.db import migrate
    from services.adapters.geodata import PROVINCES, read_units
    from services.bootstrap import bootstrap

    settings = get_settings()
    migrate(settings.database_url)
    provinces = tuple(args.provinces.split(",")) if args.provinces else PROVINCES
    container = bootstrap(settings)
    count = container.admin_units.upsert(read_units(settings.geodata_dir, provinces))
    print(f"load-geodata: {count} units upserted; now stored: {container.admin_units.count_by_level()}")


def _db_upgrade(_: argparse.Namespace) -> None:
    from services.adapters.db import migrate

    migrate(get_settings().database_url)
    print("db: schema at head")


def _topics(_: argparse.Namespace) -> None:
    from services.adapters.kafka import ensure_topics
    from services.topics import topic_specs

    settings = get_settings()
    specs = topic_specs(settings.topic_partitions, settings.topic_prefix)
    created = ensure_topics(settings.kafka_bootstrap, specs, settings.topic_replication)
    for spec in specs:
        mark = "created" if spec.name in created else "exists"
        print(f"{spec.name:32} {spec.partitions:3} partitions  key={spec.key:14} {mark}")


def _api(_: argparse.Namespace) -> None:
    from api.main import main

    main()


def _streams(args: argparse.Namespace) -> None:
    from streams.app import app, main

    settings = get_settings()  # faust's worker sets logging up itself, from this
    app.conf.logging_config = logging_config("streams", settings.log_level, settings.log_format == "json",
                                             secrets_of(settings))
    sys.argv = ["greenlane-streams", *(args.faust_args or ["worker", "-l", "info"])]
    main()


def _optimizer(_: argparse.Namespace) -> None:
    import signal

    from infra.clock import clock_of
    from infra.settings import get_settings
    from services.adapters.kafka import consumer_lag
    from services.bootstrap import bootstrap
    from services.plan_metrics import PlanMetrics
    from services.plan_worker import PlanWorker

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    container = bootstrap(settings, producer_name="optimizer")
    metrics = PlanMetrics()
    if settings.optimizer_metrics_port:
        requests = [container.topics.plan_requests]
        metrics.serve(settings.optimizer_metrics_port, settings.optimizer_group,
                      lambda: consumer_lag(settings.kafka_bootstrap, settings.optimizer_group, requests))
    worker = PlanWorker(settings.kafka_bootstrap, container.topics, settings.optimizer_group,
                        settings.streams_app_id, container.plan_store, container.planner,
                        lambda key, value: container.publisher.send_raw(container.topics.dead_letter, key, value),
                        heartbeat=settings.optimizer_heartbeat_file, clock=clock_of(settings.clock_file),
                        metrics=metrics)
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    worker.run()


def _token(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime, timedelta

    from services.bootstrap import bootstrap
    from services.domain.access import Role

    container = bootstrap(get_settings())
    now = datetime.now(UTC)
    if args.action == "revoke":
        print("revoked" if container.tokens.revoke(args.token_id, now) else "no such token")
        return
    expires = now + timedelta(hours=args.hours) if args.hours else None
    print(container.tokens.issue(Role(args.role), args.scope, now, args.label, expires))


def _route_solve(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from optimizer.search import plan_routes
    from optimizer.solomon import exact_distance, read, to_problem

    instance = read(Path(args.path))
    solution = plan_routes(to_problem(instance), args.time_limit)
    print(json.dumps({"instance": instance.name, "vehicles": solution.vehicles_used,
                      "distance": exact_distance(instance, solution), "feasible": solution.feasible,
                      "routes": [[int(v.stop_id) for v in r.visits] for r in solution.routes if r.visits]}))


def _demo(args: argparse.Namespace) -> None:
    from infra.demo import run_demo

    run_demo(get_settings(), households=args.households)


def _scenario_generate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from infra.scenario import generate, write

    scenario = generate(args.size, args.seed)
    write(scenario, Path(args.out))
    print(f"scenario {scenario.meta.name}: {len(scenario.districts)} districts, {len(scenario.zones)} zones, "
          f"{len(scenario.sales_points)} sales points, {len(scenario.depots)} depots, {len(scenario.vehicles)} "
          f"vehicles, {len(scenario.households)} household batches, {len(scenario.events)} events and "
          f"{len(scenario.zone_changes())} zone changes over {scenario.meta.days} days -> {args.out}")


def _scenario_run(args: argparse.Namespace) -> None:
    import time
    from pathlib import Path

    from infra.scenario import read
    from infra.scenario.campaign import run_policies

    path = Path(args.file) if args.file else Path(__file__).resolve().parent.parent / "scenarios" / f"{args.size}.json"
    scenario = read(path)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    results, figures, report = run_policies(scenario, get_settings(), policies, speed=args.speed,
                                            keep_running=args.keep_running, optimizers=args.optimizers)
    print(f"\nscenario {scenario.meta.name} ({path}), {scenario.meta.days} days:")
    for figure in figures:
        print(f"  {figure['policy']:13} shortage zone-days {figure['shortage_zone_days']:4} of {figure['zone_days']}"
              f" | km {figure['km_driven']:8,.1f} | drops on time {figure['drops_on_time']}/{figure['drops']} | "
              f"vulnerable served <=24 h {figure['vulnerable_served_24h']}/{figure['vulnerable_households_in_zones']}"
              f" | plans {figure['plans_approved']}/{figure['plans_stored']} | {figure['wall_s']:.0f} s")
    print(f"report: {report}")
    if args.keep_running and results and results[-1].processes:
        print(f"the API and dashboard keep running ({policies[-1]} run): {results[-1].dashboard}\nCtrl-C stops them")
        try:
            while all(p.process.poll() is None for p in results[-1].processes):
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
        finally:
            for process in reversed(results[-1].processes):
                process.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="greenlane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    geo = sub.add_parser("load-geodata", help="load the Vietnamese admin units and district polygons")
    geo.add_argument("--provinces", help="comma-separated province codes (default: all five)")
    geo.set_defaults(run=_load_geodata)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(run=_db_upgrade)
    topics = sub.add_parser("topics", help="create the Kafka topics (idempotent)")
    topics.add_argument("action", choices=["create"])
    topics.set_defaults(run=_topics)
    sub.add_parser("api", help="serve the HTTP API").set_defaults(run=_api)
    streams = sub.add_parser("streams", help="run a faust streams worker")
    streams.add_argument("faust_args", nargs=argparse.REMAINDER, help="arguments for faust (default: worker)")
    streams.set_defaults(run=_streams)
    dlq.register(sub)
    sub.add_parser("optimizer", help="run an optimizer worker: plan requests in, plans out").set_defaults(
        run=_optimizer)
    token = sub.add_parser("token", help="access tokens (role + scope); the secret is printed once")
    token_sub = token.add_subparsers(dest="action", required=True)
    issue = token_sub.add_parser("issue", help="issue a token and print it")
    issue.add_argument("--role", required=True, choices=["coordinator", "district", "commune", "sales_point", "driver"])
    issue.add_argument("--scope", required=True, help="province, district or commune code, sales point or vehicle id")
    issue.add_argument("--label", default="", help="who holds it")
    issue.add_argument("--hours", type=float, default=None, help="expires after this many hours (default: never)")
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (the part after gl_)")
    revoke.add_argument("token_id")
    token.set_defaults(run=_token)
    route = sub.add_parser("route", help="vehicle routing tools")
    route_sub = route.add_subparsers(dest="action", required=True)
    route_solve = route_sub.add_parser("solve", help="solve a Solomon-format VRPTW instance; prints one JSON line")
    route_solve.add_argument("path")
    route_solve.add_argument("--time-limit", type=float, default=10.0, help="seconds (default 10)")
    route_solve.set_defaults(run=_route_solve)
    demo = sub.add_parser("demo", help="push generated demand through the system and show the result")
    demo.add_argument("--households", type=int, default=6000)
    demo.set_defaults(run=_demo)
    scenario = sub.add_parser("scenario", help="scenario files (docs/scenarios.md)")
    scenario_sub = scenario.add_subparsers(dest="action", required=True)
    scenario_generate = scenario_sub.add_parser("generate", help="write a seeded scenario of Hồ Chí Minh City")
    scenario_generate.add_argument("--size", choices=["small", "city"], default="small")
    scenario_generate.add_argument("--seed", type=int, default=2021)
    scenario_generate.add_argument("--out", required=True, help="path of the JSON file to write")
    scenario_generate.set_defaults(run=_scenario_generate)
    scenario_run = scenario_sub.add_parser("run", help="play a scenario through the whole system under each policy "
                                                       "and write the report (.local/reports/)")
    scenario_run.add_argument("--size", choices=["small", "city"], default="small",
                              help="scenarios/<size>.json (default small)")
    scenario_run.add_argument("--file", help="a scenario file instead of scenarios/<size>.json")
    scenario_run.add_argument("--speed", type=float, default=None,
                              help="simulated seconds per second (default: the file's meta.time_acceleration)")
    scenario_run.add_argument("--policies", default="greenlane,proportional,fcfs",
                              help="comma-separated allocation policies, run one after the other")
    scenario_run.add_argument("--optimizers", type=int, default=2, help="optimizer worker processes (default 2)")
    scenario_run.add_argument("--keep-running", action="store_true",
                              help="leave the last run's API, dashboard and workers running until Ctrl-C")
    scenario_run.set_defaults(run=_scenario_run)
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:  # refused settings: say which variable, start nothing
        problems = "\n".join(f"  {error['msg'].removeprefix('Value error, ')}" for error in exc.errors())
        sys.exit(f"greenlane {args.command}: refusing to start with these settings:\n{problems}")
    if args.command in SERVICES:
        configure_logging(args.command, settings.log_level, settings.log_format == "json", secrets_of(settings))
    else:
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        for noisy in ("kafka", "alembic", "aiokafka", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    args.run(args)


if __name__ == "__main__":
    main()
