"""Vehicles: capacity by weight and volume, green-lane permits, home depot and shift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from .errors import InvalidValue


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    plate: str
    capacity_kg: float
    capacity_m3: float
    home_depot_id: str
    shift_start: time
    shift_end: time
    green_lane_permit: bool = False
    serves_district: str | None = None  # the district it is assigned to; None: its depot's district
    trips: int = 2  # trips per shift, reloading at the home depot in between

    def __post_init__(self) -> None:
        if self.capacity_kg <= 0:
            raise InvalidValue("capacity_kg", "must be positive")
        if self.capacity_m3 <= 0:
            raise InvalidValue("capacity_m3", "must be positive")
        if self.shift_end <= self.shift_start:
            raise InvalidValue("shift_end", "must be after shift_start")
        if self.trips < 1:
            raise InvalidValue("trips", "must be at least 1")

    def can_carry(self, kg: float, m3: float) -> bool:
        """Whether one load of this weight and volume fits."""
        return kg <= self.capacity_kg and m3 <= self.capacity_m3
