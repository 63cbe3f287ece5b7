"""Commands: requests to change something, named in the imperative."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .demand import DemandReport
from .geo import MultiPolygon
from .zones import RiskLevel


@dataclass(frozen=True)
class SubmitDemand:
    """A commune or district submits demand; `event_id` makes retries safe."""

    event_id: str
    occurred_at: datetime
    report: DemandReport


@dataclass(frozen=True)
class DeclareZone:
    zone_id: str
    name: str
    district_code: str
    boundary: MultiPolygon
    risk_level: RiskLevel
    at: datetime


@dataclass(frozen=True)
class RedrawZone:
    zone_id: str
    boundary: MultiPolygon
    risk_level: RiskLevel
    at: datetime


@dataclass(frozen=True)
class LiftZone:
    zone_id: str
    at: datetime
