"""Households and demand: who needs what each day, with vulnerable groups counted apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import InvalidValue
from .geo import Point
from .items import Catalogue

# Households in a zone whose location no zone contains are counted "outside" any zone.
OUTSIDE_ZONES = "outside"

RELIEF_BAG_DAYS = 7
# One relief bag (túi an sinh) per household for a week, as handed out in Hồ Chí Minh City in 2021.
RELIEF_BAG: Mapping[str, float] = {"rice": 10.0, "noodles": 30.0, "eggs": 30.0, "cooking_oil": 1.0,
                                   "vegetables": 5.0}


class VulnerableGroup(StrEnum):
    ELDERLY_ALONE = "elderly_alone"
    POOR = "poor"
    F0 = "f0"  # infected
    F1 = "f1"  # close contact
    DISABLED = "disabled"
    SMALL_CHILDREN = "small_children"


@dataclass(frozen=True)
class Household:
    """One household on a commune's list."""

    household_id: str
    commune_code: str
    size: int
    vulnerable: frozenset[VulnerableGroup] = frozenset()
    location: Point | None = None
    temporary_resident: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 50:
            raise InvalidValue("size", f"{self.size} is outside 1..50")


@dataclass(frozen=True)
class ItemNeed:
    """An explicit request: so many units of an item per day."""

    item_code: str
    quantity_per_day: float

    def __post_init__(self) -> None:
        if not self.quantity_per_day > 0:
            raise InvalidValue("quantity_per_day", f"{self.quantity_per_day} must be positive")


@dataclass(frozen=True)
class DemandReport:
    """What a commune or district reports for a batch of households in one place.

    Submissions add up: each one registers households not reported before (a correction is a
    separate, later event). The daily need is the explicit per-item needs when given, otherwise
    people × the ration norms, plus extras for vulnerable groups and any relief bags requested.
    """

    commune_code: str
    households: int
    people: int
    vulnerable: Mapping[VulnerableGroup, int] = field(default_factory=dict)
    needs: tuple[ItemNeed, ...] = ()
    relief_bags: int = 0
    zone_id: str | None = None
    location: Point | None = None

    def __post_init__(self) -> None:
        if not self.commune_code:
            raise InvalidValue("commune_code", "must not be empty")
        if self.households < 0:
            raise InvalidValue("households", "must not be negative")
        if self.people < self.households:
            raise InvalidValue("people", "must be at least the number of households")
        if self.people > 50 * max(self.households, 1):
            raise InvalidValue("people", "more than 50 people per household")
        for group, count in self.vulnerable.items():
            if not 0 <= count <= self.households:
                raise InvalidValue(f"vulnerable.{group.value}", "must be between 0 and the number of households")
        if not 0 <= self.relief_bags <= max(self.households, 1) * 4:
            raise InvalidValue("relief_bags", "must be between 0 and 4 per household")
        if len({n.item_code for n in self.needs}) != len(self.needs):
            raise InvalidValue("needs", "lists an item twice")
        if self.households == 0 and not self.needs and not self.relief_bags:
            raise InvalidValue("households", "a report needs households, needs or relief bags")

    def daily_need(self, catalogue: Catalogue) -> dict[str, float]:
        """Units per day of each item this report adds; unknown items raise UnknownReference."""
        need: dict[str, float] = {}
        if self.needs:
            for line in self.needs:
                catalogue.get(line.item_code)
                need[line.item_code] = line.quantity_per_day
        else:
            for item in catalogue:
                if item.ration_per_person_per_day > 0:
                    need[item.code] = self.people * item.ration_per_person_per_day
            _add(need, "milk", self.vulnerable.get(VulnerableGroup.SMALL_CHILDREN, 0) * 1.0, catalogue)
            _add(need, "medicine_kit", self.vulnerable.get(VulnerableGroup.F0, 0) / 7.0, catalogue)
        for code, per_bag in RELIEF_BAG.items():
            _add(need, code, self.relief_bags * per_bag / RELIEF_BAG_DAYS, catalogue)
        return {code: qty for code, qty in need.items() if qty > 0}


def _add(need: dict[str, float], code: str, quantity: float, catalogue: Catalogue) -> None:
    if quantity > 0 and code in catalogue:
        need[code] = need.get(code, 0.0) + quantity


def report_from_households(commune_code: str, households: list[Household], zone_id: str | None = None,
                           relief_bags: int = 0) -> DemandReport:
    """Summarise a commune's household list into one report."""
    vulnerable: dict[VulnerableGroup, int] = {}
    for household in households:
        if household.commune_code != commune_code:
            raise InvalidValue("commune_code", f"household {household.household_id} is in another commune")
        for group in household.vulnerable:
            vulnerable[group] = vulnerable.get(group, 0) + 1
    return DemandReport(commune_code=commune_code, households=len(households),
                        people=sum(h.size for h in households), vulnerable=vulnerable,
                        relief_bags=relief_bags, zone_id=zone_id)
