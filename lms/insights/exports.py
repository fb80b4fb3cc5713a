"""Published figures as SDMX-style observations: the rows of the CSV export and of the API."""

import csv
import io
from collections.abc import Iterator

from lms.insights import m49
from lms.insights.models import Dimension
from lms.insights.selectors import MONTHLY, CountryDashboard, GlobalView, Row
from lms.insights.suppression import Figure

COLUMNS = (
    "DATAFLOW",
    "REF_AREA",
    "REF_AREA_ALPHA3",
    "REF_AREA_M49",
    "TIME_PERIOD",
    "INDICATOR",
    "COURSE",
    "LANGUAGE",
    "CENTRE",
    "SEX",
    "AGE",
    "OBS_VALUE",
    "UNIT_MEASURE",
    "OBS_STATUS",
)
DATAFLOW = "OPENCAPACITY:UPTAKE(1.0)"
TOTAL, UNKNOWN = "_T", "_U"
INDICATORS = {
    "registered": ("REGISTERED", "PS"),  # persons
    "enrolled": ("ENROLMENTS", "NUMBER"),
    "active_30d": ("ACTIVE_30D", "PS"),
    "completed": ("COMPLETIONS", "NUMBER"),
    "completion_rate": ("COMPLETION_RATE", "PT"),  # percent
    "average_score": ("AVG_SCORE", "PT"),
    "certified": ("CERTIFICATES", "NUMBER"),
}
SEX_CODES = {"female": "F", "male": "M", "other": "O"}
AGE_CODES = {
    "lt18": "Y_LT18",
    "18-24": "Y18T24",
    "25-34": "Y25T34",
    "35-49": "Y35T49",
    "50-64": "Y50T64",
    "65+": "Y_GE65",
}
_DIMENSION_COLUMN = {
    Dimension.COURSE: "COURSE",
    Dimension.LANGUAGE: "LANGUAGE",
    Dimension.CENTRE: "CENTRE",
    Dimension.SEX: "SEX",
    Dimension.AGE: "AGE",
}


def area_columns(code: str) -> dict[str, str]:
    info = m49.country(code) if code else None
    if info is None:
        return {"REF_AREA": UNKNOWN, "REF_AREA_ALPHA3": UNKNOWN, "REF_AREA_M49": ""}
    return {"REF_AREA": info.alpha2, "REF_AREA_ALPHA3": info.alpha3, "REF_AREA_M49": f"{info.m49:03d}"}


def _member_code(dimension: str, member: str) -> str:
    if dimension == Dimension.SEX:
        return SEX_CODES.get(member, member)
    if dimension == Dimension.AGE:
        return AGE_CODES.get(member, member)
    if dimension == Dimension.CENTRE:
        return member or "_Z"  # not applicable: no training centre
    return member or UNKNOWN


def _observations(base: dict[str, str], row: Row, measures: tuple[str, ...]) -> Iterator[dict[str, str]]:
    for measure in measures:
        figure: Figure = row.figures[measure]
        indicator, unit = INDICATORS[measure]
        yield {
            **base,
            "INDICATOR": indicator,
            "OBS_VALUE": "" if figure.hidden else str(figure.value),
            "UNIT_MEASURE": unit,
            "OBS_STATUS": figure.status,
        }


def _base(area: dict[str, str], period: str) -> dict[str, str]:
    return {
        "DATAFLOW": DATAFLOW,
        **area,
        "TIME_PERIOD": period,
        **dict.fromkeys(("COURSE", "LANGUAGE", "CENTRE", "SEX", "AGE"), TOTAL),
    }


ALL_MEASURES = tuple(INDICATORS)


def country_observations(dashboard: CountryDashboard) -> list[dict[str, str]]:
    """Cumulative figures carry the date of the refresh as TIME_PERIOD; monthly ones carry YYYY-MM."""
    area = area_columns(dashboard.country)
    as_of = dashboard.as_of.date().isoformat() if dashboard.as_of else ""
    rows = list(_observations(_base(area, as_of), Row("_T", "", dashboard.headline), ALL_MEASURES))
    for month in dashboard.months:
        rows += _observations(_base(area, month.key), month, MONTHLY)
    for breakdown in dashboard.breakdowns:
        column = _DIMENSION_COLUMN[breakdown.dimension]
        for row in breakdown.rows:
            base = {**_base(area, as_of), column: _member_code(breakdown.dimension, row.key)}
            rows += _observations(base, row, breakdown.measures)
    return rows


def global_observations(view: GlobalView) -> list[dict[str, str]]:
    as_of = view.as_of.date().isoformat() if view.as_of else ""
    rows: list[dict[str, str]] = []
    for name, row in [
        ("World", view.total),
        *((r.key, r) for r in view.regions),
        *((g.key, g) for g in view.groupings),
    ]:
        code = m49.AREA_CODES.get(name)
        area = {
            "REF_AREA": f"{code:03d}" if code else UNKNOWN,
            "REF_AREA_ALPHA3": "",
            "REF_AREA_M49": f"{code:03d}" if code else "",
        }
        rows += _observations(_base(area, as_of), row, ALL_MEASURES)
    for row in view.countries:
        rows += _observations(_base(area_columns(row.key), as_of), row, ALL_MEASURES)
    return rows


def to_csv(observations: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(observations)
    return buffer.getvalue()
