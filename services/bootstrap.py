"""The composition root: wires adapters to handlers from settings passed in by an entry point."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from .adapters.db import make_engine
from .adapters.geodata import read_catalogue, read_units
from .adapters.kafka import KafkaPublisher
from .adapters.plans import PlanStore
from .adapters.projections import Projections
from .adapters.repositories import AdminRepository, PlaceRepository, ZoneRepository
from .adapters.tokens import TokenStore
from .adapters.views import Views
from .adapters.zone_index import ZoneIndex
from .district import DistrictProcessor
from .domain.admin import AdminCatalogue, AdminLevel
from .domain.alerts import PriceRule, ShortageRule
from .domain.geo import MultiPolygon
from .domain.items import Catalogue, default_catalogue
from .planner import Planner
from .reports import Reports
from .topics import Topics
from .zone_commands import ZoneCommands, ZoneRules

if TYPE_CHECKING:
    from infra.settings import Settings


@dataclass
class Container:
    """Everything a process needs, built lazily so each entry point pays only for what it uses."""

    kafka_bootstrap: str
    database_url: str
    geodata_dir: Path
    topics: Topics
    producer_name: str = "greenlane"
    shortage: ShortageRule = field(default_factory=ShortageRule)
    prices: PriceRule = field(default_factory=PriceRule)
    plan_debounce_s: float = 60.0
    plan_time_limit_s: float = 20.0
    driving_hours: tuple[int, int] = (6 * 3600, 18 * 3600)
    target_days: float = 7.0
    allocation_policy: str = "greenlane"
    replan_driving: bool = True
    osrm_url: str | None = None
    province_code: str = "79"
    secret_key: str = "dev-only-change-me"

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @cached_property
    def admin(self) -> AdminCatalogue:
        return read_catalogue(self.geodata_dir)

    @cached_property
    def items(self) -> Catalogue:
        return default_catalogue()

    @cached_property
    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(self.kafka_bootstrap, self.producer_name)

    @cached_property
    def zones(self) -> ZoneRepository:
        return ZoneRepository(self.engine)

    @cached_property
    def places(self) -> PlaceRepository:
        return PlaceRepository(self.engine)

    @cached_property
    def admin_units(self) -> AdminRepository:
        return AdminRepository(self.engine)

    @cached_property
    def district_processor(self) -> DistrictProcessor:
        """Folds district events; owns this process's zone index and coverage book."""
        return DistrictProcessor(self.admin, self.items, ZoneIndex(), self.topics, self.shortage, self.prices,
                                 timedelta(seconds=self.plan_debounce_s))

    @cached_property
    def projections(self) -> Projections:
        return Projections(self.engine)

    @cached_property
    def plan_store(self) -> PlanStore:
        return PlanStore(self.engine, self.province_code, self.replan_driving, self.driving_hours[1])

    @cached_property
    def zone_rules(self) -> ZoneRules:
        def boundaries() -> dict[str, MultiPolygon]:
            return {u.code: u.boundary for u in read_units(self.geodata_dir, (self.province_code,))
                    if u.level is AdminLevel.DISTRICT and u.boundary is not None}

        return ZoneRules(boundaries, self.province_code)

    @cached_property
    def zone_commands(self) -> ZoneCommands:
        return ZoneCommands(self.zone_rules, self.zones, self.publisher, self.topics)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self.admin, self.items, self.engine, self.publisher, self.topics)

    @cached_property
    def views(self) -> Views:
        return Views(self.engine, self.province_code)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.engine, self.secret_key)

    @cached_property
    def planner(self) -> Planner:
        from optimizer.travel import travel_times

        return Planner(self.items, travel_times(self.osrm_url), self.plan_time_limit_s, self.driving_hours,
                       self.target_days, allocation_policy=self.allocation_policy)


def bootstrap(settings: Settings, producer_name: str = "greenlane") -> Container:
    """Build the container from the settings an entry point read."""
    return Container(kafka_bootstrap=settings.kafka_bootstrap, database_url=settings.database_url,
                     geodata_dir=settings.geodata_dir, topics=Topics.with_prefix(settings.topic_prefix),
                     producer_name=producer_name,
                     shortage=ShortageRule(settings.shortage_days, settings.shortage_days_perishable,
                                           dict(settings.shortage_days_by_item)),
                     prices=PriceRule(margin=settings.price_alert_margin),
                     plan_debounce_s=settings.plan_request_debounce_s, plan_time_limit_s=settings.plan_time_limit_s,
                     driving_hours=settings.driving_hours(),
                     target_days=settings.target_days_of_supply,
                     allocation_policy=settings.allocation_policy, replan_driving=settings.replan_driving,
                     osrm_url=settings.osrm_url,
                     province_code=settings.province_code, secret_key=settings.secret_key)
