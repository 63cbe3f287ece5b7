"""Where goods sit and change hands: sales points, depots and zone checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum

from .errors import InvalidValue
from .geo import Point


class SalesPointKind(StrEnum):
    SUPERMARKET = "supermarket"
    MARKET_STALL = "market_stall"
    CONVENIENCE = "convenience"
    MOBILE = "mobile"  # a mobile sales point moves between stops inside a zone

    @property
    def fixed(self) -> bool:
        return self is not SalesPointKind.MOBILE


class SalesPointStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"


@dataclass(frozen=True)
class OpeningHours:
    """Daily opening window in local time (Asia/Ho_Chi_Minh)."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise InvalidValue("opening_hours", "must close after it opens")


@dataclass(frozen=True)
class SalesPoint:
    point_id: str
    name: str
    kind: SalesPointKind
    location: Point
    commune_code: str
    hours: OpeningHours
    status: SalesPointStatus = SalesPointStatus.OPEN
    contact: str = ""


@dataclass(frozen=True)
class Depot:
    """A warehouse, distribution centre or wholesale market."""

    depot_id: str
    name: str
    location: Point
    district_code: str
    hours: OpeningHours


@dataclass(frozen=True)
class Checkpoint:
    """An entry point on a zone's boundary where trucks hand goods to local teams."""

    checkpoint_id: str
    zone_id: str
    name: str
    location: Point
    handover_minutes: int = 20

    def __post_init__(self) -> None:
        if self.handover_minutes < 0:
            raise InvalidValue("handover_minutes", "must not be negative")
