"""lms/insights/suppression.py: every rule with hand-computed expectations, including subtraction."""

import pytest

from lms.insights.suppression import (
    PRIMARY,
    SECONDARY,
    SHOWN,
    WITHHELD,
    Figure,
    average_figure,
    count_figure,
    rate_figure,
    suppress_breakdown,
    suppress_linked,
)


@pytest.mark.parametrize(
    ("n", "value", "status", "text"),
    [
        (0, 0, SHOWN, "0"),
        (1, None, PRIMARY, "<5"),
        (4, None, PRIMARY, "<5"),
        (5, 5, SHOWN, "5"),
        (7, 5, SHOWN, "5"),
        (8, 10, SHOWN, "10"),
        (12, 10, SHOWN, "10"),
        (13, 15, SHOWN, "15"),
        (1234, 1235, SHOWN, "1,235"),
        (1237, 1235, SHOWN, "1,235"),
        (1238, 1240, SHOWN, "1,240"),
    ],
)
def test_counts_are_hidden_below_five_and_rounded_to_five(n, value, status, text):
    assert count_figure(n) == Figure(value, status, text)


def test_rates_and_averages_need_a_base_of_ten():
    assert rate_figure(3, 9) == Figure(None, WITHHELD, "–")
    assert rate_figure(5, 10) == Figure(50, SHOWN, "50%")
    assert rate_figure(2, 3).hidden
    # 10 learners' 15 best scores, summing to 11.25: 75%.
    assert average_figure(11.25, 15, learners=10) == Figure(75, SHOWN, "75%")
    # 12 best scores, but from 9 learners: the base is people, so it is withheld.
    assert average_figure(9.0, 12, learners=9) == Figure(None, WITHHELD, "–")


def test_a_rate_whose_numerator_is_hidden_is_withheld_too():
    # 3 completions of 40 enrolments: "8%" with a base of "40" would give the 3 back.
    assert rate_figure(3, 40, numerator_figure=count_figure(3)).status == WITHHELD
    assert rate_figure(0, 40, numerator_figure=count_figure(0)) == Figure(0, SHOWN, "0%")


def test_one_small_cell_takes_the_next_smallest_with_it():
    # Centres A=3, B=12, C=40, D=0; total 55. Without complementary suppression 55 - 10 - 40 - 0 = 5
    # would narrow A down; B (the smallest other non-zero cell) is hidden as well.
    cells, total = suppress_breakdown({"A": 3, "B": 12, "C": 40, "D": 0}, 55)
    assert cells == {
        "A": Figure(None, PRIMARY, "<5"),
        "B": Figure(None, SECONDARY, "…"),
        "C": Figure(40, SHOWN, "40"),
        "D": Figure(0, SHOWN, "0"),
    }
    assert total == Figure(55, SHOWN, "55")


def test_the_subtraction_attack_recovers_nothing_exact():
    counts = {"F": 2, "M": 31, "O": 6}
    cells, total = suppress_breakdown(counts, 39)
    shown = {key: figure.value for key, figure in cells.items() if not figure.hidden}
    hidden = [key for key, figure in cells.items() if figure.hidden]
    # The attacker subtracts every shown cell from the total: what is left covers two cells, not one.
    assert hidden == ["F", "O"] and shown == {"M": 30}
    assert total.value - sum(shown.values()) == 10  # = F + O (2 + 6, rounded), not F alone


def test_two_small_cells_protect_each_other():
    cells, _total = suppress_breakdown({"A": 2, "B": 3, "C": 50}, 55)
    assert [cells[k].status for k in "ABC"] == [PRIMARY, PRIMARY, SHOWN]


def test_with_nothing_else_to_hide_the_total_is_hidden():
    cells, total = suppress_breakdown({"A": 3, "B": 0}, 3)
    assert cells["A"].status == PRIMARY and total.status == PRIMARY
    cells, total = suppress_breakdown({"A": 3}, 30)  # impossible in real data, but never leak
    assert total.status == SECONDARY


def test_linked_tables_are_protected_until_nothing_changes():
    # World = Africa + Asia; Africa = RW + KE; Asia = NP + IN.
    # RW=2 is hidden, so KE (the only other African cell) goes too. Then the Africa relation is safe,
    # and nothing in Asia or the world needs hiding.
    counts = {"W": 120, "Africa": 22, "Asia": 98, "RW": 2, "KE": 20, "NP": 8, "IN": 90}
    relations = [("W", ["Africa", "Asia"]), ("Africa", ["RW", "KE"]), ("Asia", ["NP", "IN"])]
    figures = suppress_linked(counts, relations)
    assert {k for k, f in figures.items() if f.hidden} == {"RW", "KE"}
    # A hidden region needs a partner in the world relation. Asia is no partner: hidden, it would still
    # be NP + IN, both shown. So the world total is hidden (W - Asia would give Africa back).
    counts = {"W": 103, "Africa": 3, "Asia": 100, "RW": 3, "NP": 10, "IN": 90}
    relations = [("W", ["Africa", "Asia"]), ("Africa", ["RW"]), ("Asia", ["NP", "IN"])]
    figures = suppress_linked(counts, relations)
    assert {k for k, f in figures.items() if f.hidden} == {"Africa", "RW", "W"}
    for parent, children in relations:
        assert sum(figures[k].hidden for k in [parent, *children]) != 1


def test_figures_published_elsewhere_are_never_hidden_to_protect_others():
    # The world view: Eastern Africa = RW 40 + BI 3 + KE 100; Asia = IN 50; world = both regions.
    # Each country's total is also on its own dashboard, so hiding RW here (the usual partner for BI)
    # would protect nothing: RW's dashboard shows 40, and 145 - 100 - 40 gives BI back. The region is
    # hidden instead, and then the world (Asia's 50 can be redone from India, so it is no partner).
    counts = {"RW": 40, "BI": 3, "KE": 100, "IN": 50, "Africa": 143, "Asia": 50, "World": 193}
    relations = [("Africa", ["RW", "BI", "KE"]), ("Asia", ["IN"]), ("World", ["Africa", "Asia"])]
    figures = suppress_linked(counts, relations, published_elsewhere=["RW", "BI", "KE", "IN"])
    assert {key: figure.text for key, figure in figures.items()} == {
        "RW": "40",
        "BI": "<5",
        "KE": "100",
        "IN": "50",
        "Africa": "…",
        "Asia": "50",
        "World": "…",
    }
    # Without that knowledge the smallest country partners the small one, as on a dashboard.
    plain = suppress_linked(counts, relations)
    assert (plain["RW"].status, plain["Africa"].status, plain["World"].status) == (SECONDARY, SHOWN, SHOWN)


def test_a_region_with_two_hidden_countries_may_partner_another_hidden_region():
    # Africa: BI 3 + RW 4, both hidden, so Africa (7) alone would be safe. Oceania: WS 2 + FJ 30.
    # Oceania hides itself (FJ is published elsewhere); the world then needs a second hidden region,
    # and Africa, whose sum cannot be redone from shown countries, is the one hidden.
    counts = {"BI": 3, "RW": 4, "WS": 2, "FJ": 30, "Africa": 7, "Oceania": 32, "World": 39}
    relations = [("Africa", ["BI", "RW"]), ("Oceania", ["WS", "FJ"]), ("World", ["Africa", "Oceania"])]
    figures = suppress_linked(counts, relations, published_elsewhere=["BI", "RW", "WS", "FJ"])
    assert {key: figure.text for key, figure in figures.items()} == {
        "BI": "<5",
        "RW": "<5",
        "WS": "<5",
        "FJ": "30",
        "Africa": "…",
        "Oceania": "…",
        "World": "40",
    }
