"""Handlers: plain functions that carry out one command each, with their dependencies passed in."""

from __future__ import annotations

from .adapters.repositories import ZoneRepository
from .domain.admin import AdminCatalogue
from .domain.commands import SubmitDemand
from .domain.errors import UnknownReference
from .domain.events import DemandSubmitted, Event, ZoneDeclared, ZoneLifted, ZoneRedrawn
from .domain.items import Catalogue
from .domain.zones import Zone
from .ports import EventPublisher
from .topics import Topics


def build_demand(cmd: SubmitDemand, admin: AdminCatalogue, items: Catalogue) -> DemandSubmitted:
    """The event for a demand report, once the references the caller can fix at once are checked."""
    district = admin.district_of(cmd.report.commune_code)
    if district is None:
        raise UnknownReference("commune_code", cmd.report.commune_code)
    cmd.report.daily_need(items)  # raises UnknownReference for an unknown item
    return DemandSubmitted(event_id=cmd.event_id, occurred_at=cmd.occurred_at, district_code=district,
                           report=cmd.report)


def submit_demand(cmd: SubmitDemand, admin: AdminCatalogue, items: Catalogue, publisher: EventPublisher,
                  topics: Topics) -> DemandSubmitted:
    """Check, then publish the demand keyed by district."""
    event = build_demand(cmd, admin, items)
    publisher.publish(topics.demand, event.district_code, event)
    return event


def project_zone_event(event: Event, zones: ZoneRepository) -> bool:
    """Record a zone change as a new version in PostGIS; True when it was new. Unknown zones raise."""
    if isinstance(event, ZoneDeclared):
        return zones.add(Zone(event.zone_id, event.name, event.district_code, event.boundary, event.risk_level,
                              valid_from=event.occurred_at))
    if not isinstance(event, ZoneRedrawn | ZoneLifted):
        return False
    current = zones.current(event.zone_id)
    if current is None:
        raise UnknownReference("zone_id", event.zone_id)
    if current.version >= event.version:
        return False
    if isinstance(event, ZoneRedrawn):
        new = current.redrawn(event.boundary, event.risk_level, event.occurred_at)
    else:
        new = current.lifted(event.occurred_at)
    return zones.add(Zone(new.zone_id, new.name, new.district_code, new.boundary, new.risk_level,
                          version=event.version, status=new.status, valid_from=event.occurred_at))
