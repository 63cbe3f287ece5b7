import pytest

from services.domain.demand import (
    DemandReport,
    Household,
    ItemNeed,
    VulnerableGroup,
    report_from_households,
)
from services.domain.errors import InvalidValue, UnknownReference
from services.domain.items import default_catalogue

ITEMS = default_catalogue()


def test_need_from_ration_norms_scales_with_people():
    report = DemandReport(commune_code="26734", households=10, people=35)
    need = report.daily_need(ITEMS)
    assert need["rice"] == pytest.approx(35 * 0.4)
    assert need["water"] == pytest.approx(35 * 2.0)
    assert "medicine_kit" not in need


def test_vulnerable_groups_add_milk_and_medicine():
    report = DemandReport(commune_code="26734", households=10, people=35,
                          vulnerable={VulnerableGroup.SMALL_CHILDREN: 3, VulnerableGroup.F0: 7})
    need = report.daily_need(ITEMS)
    assert need["milk"] == pytest.approx(3.0)
    assert need["medicine_kit"] == pytest.approx(1.0)


def test_explicit_needs_replace_norms_and_relief_bags_add_a_week_of_kit():
    report = DemandReport(commune_code="26734", households=2, people=6, needs=(ItemNeed("rice", 5.0),),
                          relief_bags=7)
    need = report.daily_need(ITEMS)
    assert need["rice"] == pytest.approx(5.0 + 10.0)
    assert need["noodles"] == pytest.approx(30.0)
    assert "water" not in need


@pytest.mark.parametrize("kwargs, field", [
    ({"households": -1, "people": 0}, "households"),
    ({"households": 3, "people": 2}, "people"),
    ({"households": 1, "people": 100}, "people"),
    ({"households": 2, "people": 4, "vulnerable": {VulnerableGroup.POOR: 3}}, "vulnerable.poor"),
    ({"households": 0, "people": 0}, "households"),
    ({"households": 1, "people": 1, "relief_bags": 5}, "relief_bags"),
])
def test_bad_reports_name_the_field(kwargs, field):
    with pytest.raises(InvalidValue) as err:
        DemandReport(commune_code="26734", **kwargs)
    assert err.value.field == field


def test_unknown_item_is_refused():
    report = DemandReport(commune_code="26734", households=1, people=2, needs=(ItemNeed("caviar", 1.0),))
    with pytest.raises(UnknownReference) as err:
        report.daily_need(ITEMS)
    assert err.value.field == "item"


def test_a_household_list_summarises_into_one_report():
    households = [
        Household("h1", "26734", 4, frozenset({VulnerableGroup.F0, VulnerableGroup.POOR})),
        Household("h2", "26734", 1, frozenset({VulnerableGroup.ELDERLY_ALONE})),
        Household("h3", "26734", 3),
    ]
    report = report_from_households("26734", households)
    assert (report.households, report.people) == (3, 8)
    assert report.vulnerable == {VulnerableGroup.F0: 1, VulnerableGroup.POOR: 1, VulnerableGroup.ELDERLY_ALONE: 1}
    with pytest.raises(InvalidValue):
        report_from_households("26737", households)
