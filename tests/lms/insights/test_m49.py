"""lms/insights/m49.py: the static M49 table is complete and agrees with well-known entries."""

from django_countries import countries

from lms.insights import m49


def test_every_iso_country_has_an_entry_with_matching_codes():
    assert set(m49.COUNTRIES) == {country.code for country in countries}
    for code, entry in m49.COUNTRIES.items():
        assert entry.alpha3 == countries.alpha3(code) and entry.m49 == countries.numeric(code)
        assert entry.region in (*m49.REGIONS, "") and (entry.region == "") == (code == "AQ")


def test_known_countries_and_groupings():
    assert m49.country("rw") == m49.Country(
        "RW", "RWA", 646, "Africa", "Sub-Saharan Africa", "Eastern Africa", True, True, False
    )
    assert m49.country("FJ").sids and m49.country("FJ").sub_region == "Melanesia"
    assert m49.country("BO").lldc and not m49.country("BO").ldc
    assert m49.country("JO").sub_region == "Western Asia"
    assert sum(c.ldc for c in m49.COUNTRIES.values()) == 44
    assert sum(c.lldc for c in m49.COUNTRIES.values()) == 32
    assert m49.country("ZZ") is None
