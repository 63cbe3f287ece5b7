"""The essential-items catalogue: units, weight, volume, ration norms, shelf life, reference price."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidValue, UnknownReference


@dataclass(frozen=True)
class Item:
    """One essential item; quantities elsewhere are counted in `unit`."""

    code: str
    name: str
    name_vi: str
    unit: str
    kg_per_unit: float
    m3_per_unit: float
    ration_per_person_per_day: float  # in units; 0 for items given per household only
    reference_price_vnd: int
    shelf_life_days: int | None = None  # None for non-perishables
    medicine: bool = False

    def __post_init__(self) -> None:
        if self.kg_per_unit <= 0 or self.m3_per_unit <= 0:
            raise InvalidValue("item", f"{self.code}: weight and volume per unit must be positive")
        if self.ration_per_person_per_day < 0:
            raise InvalidValue("item", f"{self.code}: ration must not be negative")
        if self.shelf_life_days is not None and self.shelf_life_days <= 0:
            raise InvalidValue("item", f"{self.code}: shelf life must be positive")

    @property
    def perishable(self) -> bool:
        return self.shelf_life_days is not None


class Catalogue:
    """The items known to the system, by code."""

    def __init__(self, items: list[Item]) -> None:
        self._items = {item.code: item for item in items}

    def __contains__(self, code: object) -> bool:
        return code in self._items

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items.values())

    def get(self, code: str) -> Item:
        """The item with this code, or UnknownReference."""
        try:
            return self._items[code]
        except KeyError:
            raise UnknownReference("item", code) from None

    def codes(self) -> list[str]:
        return list(self._items)


# Norms follow the relief bags handed out in Hồ Chí Minh City in 2021 (rice 10 kg, noodles, eggs,
# oil, vegetables per household of ~3.5 people for about a week) and Bộ Công Thương guidance.
# Prices are the 2021 stabilised (bình ổn) retail prices, rounded.
DEFAULT_ITEMS: list[Item] = [
    Item("rice", "Rice", "Gạo", "kg", 1.0, 0.0013, 0.4, 15_000),
    Item("noodles", "Instant noodles", "Mì gói", "pack", 0.08, 0.0004, 1.0, 4_000),
    Item("eggs", "Eggs", "Trứng", "egg", 0.06, 0.0001, 1.0, 3_000, shelf_life_days=21),
    Item("vegetables", "Vegetables", "Rau củ", "kg", 1.0, 0.004, 0.3, 20_000, shelf_life_days=4),
    Item("pork", "Pork", "Thịt heo", "kg", 1.0, 0.0015, 0.1, 120_000, shelf_life_days=3),
    Item("cooking_oil", "Cooking oil", "Dầu ăn", "litre", 0.92, 0.0011, 0.03, 45_000),
    Item("water", "Drinking water", "Nước uống", "litre", 1.0, 0.0011, 2.0, 5_000),
    Item("milk", "Milk for children", "Sữa trẻ em", "carton", 0.2, 0.0002, 0.0, 8_000, shelf_life_days=180),
    Item("medicine_kit", "Medicine kit (F0 home care)", "Túi thuốc F0", "kit", 0.3, 0.001, 0.0, 150_000,
         medicine=True),
]


def default_catalogue() -> Catalogue:
    """The built-in catalogue of essentials."""
    return Catalogue(DEFAULT_ITEMS)
