"""Handlers: plain functions that carry out one command each, with their dependencies passed in."""

from __future__ import annotations

from datetime import UTC, datetime

from .domain.admin import AdminCatalogue
from .domain.area_demand import AreaDemand
from .domain.commands import FoldDemand, SubmitDemand
from .domain.demand import OUTSIDE_ZONES
from .domain.errors import UnknownReference
from .domain.events import AreaDemandChanged, DemandSubmitted
from .domain.items import Catalogue
from .ports import EventPublisher, StateTable, ZoneLookup
from .topics import Topics


def submit_demand(cmd: SubmitDemand, admin: AdminCatalogue, items: Catalogue, publisher: EventPublisher,
                  topics: Topics) -> DemandSubmitted:
    """Check references the caller can fix at once, then publish the demand keyed by district."""
    district = admin.district_of(cmd.report.commune_code)
    if district is None:
        raise UnknownReference("commune_code", cmd.report.commune_code)
    cmd.report.daily_need(items)  # raises UnknownReference for an unknown item
    event = DemandSubmitted(event_id=cmd.event_id, occurred_at=cmd.occurred_at, district_code=district,
                            report=cmd.report)
    publisher.publish(topics.demand, district, event)
    return event


def fold_demand(cmd: FoldDemand, areas: StateTable, seen: StateTable, admin: AdminCatalogue, items: Catalogue,
                zones: ZoneLookup) -> AreaDemandChanged | None:
    """Add one demand event to its area's totals, at most once; None when it was already counted.

    Raises UnknownReference for an unknown commune, zone or item: the caller dead-letters the event.
    """
    report = cmd.report
    if not admin.has_commune(report.commune_code):
        raise UnknownReference("commune_code", report.commune_code)
    if admin.district_of(report.commune_code) != cmd.district_code:
        raise UnknownReference("district_code", cmd.district_code)
    zone_id = report.zone_id
    if zone_id is not None and not zones.is_active(zone_id):
        raise UnknownReference("zone_id", zone_id)
    if zone_id is None and report.location is not None:
        zone_id = zones.containing(report.location)
    need = report.daily_need(items)
    if cmd.event_id in seen:
        return None
    key = AreaDemand.key(zone_id or OUTSIDE_ZONES, report.commune_code)
    stored = areas.get(key)
    current = (AreaDemand.from_dict(stored) if stored is not None
               else AreaDemand(zone_id or OUTSIDE_ZONES, report.commune_code, cmd.district_code))
    if current.already_folded(cmd.offset):
        seen[cmd.event_id] = cmd.offset
        return None
    updated = current.folded(report, need, cmd.offset)
    areas[key] = updated.to_dict()
    seen[cmd.event_id] = cmd.offset
    return AreaDemandChanged(
        event_id=f"area-demand:{cmd.partition}:{cmd.offset}:{key}", occurred_at=datetime.now(UTC),
        district_code=cmd.district_code, zone_id=updated.zone_id, commune_code=updated.commune_code,
        households=updated.households, people=updated.people, vulnerable=updated.vulnerable,
        need_per_day=updated.need_per_day, reports=updated.reports, source_partition=cmd.partition,
        source_offset=cmd.offset)

