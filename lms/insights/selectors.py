"""Reads for dashboards, exports and the API. They read rollups only, never raw activity, and every
figure they return has been through lms.insights.suppression."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _

from courses.models import CoursePage, LessonPage
from lms.accounts.models import AgeBand, Gender, TrainingCentre
from lms.insights import m49
from lms.insights.access import UNKNOWN
from lms.insights.models import Dimension, LearnerSnapshot, MonthlyUptake, RollupRun
from lms.insights.suppression import Figure, average_figure, rate_figure, suppress_linked

COUNTS = ("registered", "enrolled", "completed", "certified", "active_30d")
MONTHLY = ("registered", "enrolled", "completed", "certified")
# Measures that a course slice splits additively (registering and being active belong to a learner).
PER_COURSE = ("enrolled", "completed", "certified")
COURSE_MEASURES = ("enrolled", "completed", "completion_rate", "certified", "average_score")
LEARNER_MEASURES = (
    "registered",
    "enrolled",
    "active_30d",
    "completed",
    "completion_rate",
    "certified",
    "average_score",
)
NO_SCORE = (0.0, 0, 0)  # score sum, number of best scores, number of learners they come from
TOTAL = (Dimension.TOTAL, "")
SEX_TOTAL = ("sex_total", "")
AGE_TOTAL = ("age_total", "")


@dataclass
class Row:
    key: str
    label: str
    figures: dict[str, Figure]


@dataclass
class Breakdown:
    dimension: str
    title: str
    measures: tuple[str, ...]
    rows: list[Row]
    total: Row


@dataclass
class CountryDashboard:
    country: str
    name: str
    alpha3: str
    m49: int | None
    region: str
    as_of: datetime | None
    headline: dict[str, Figure]
    months: list[Row]
    breakdowns: list[Breakdown] = field(default_factory=list)


def country_name(code: str) -> str:
    if code == UNKNOWN:
        return _("Unknown country")
    from django_countries import countries

    return str(countries.name(code)) or code


def country_slug(code: str) -> str:
    return code.lower() or "unknown"


def country_from_slug(slug: str) -> str | None:
    if slug == "unknown":
        return UNKNOWN
    code = slug.upper()
    return code if code in m49.COUNTRIES else None


def exercise_courses() -> dict[int, set[str]]:
    """Exercise id -> the translation keys of the courses whose lessons embed it.

    Exercises are snippets placed in lesson bodies, so the link is read from the lesson pages (every
    language version, live or not), and a lesson belongs to the course whose tree path prefixes its own.
    An exercise in no lesson belongs to no course; one reused in two courses counts in both.
    """
    courses = dict(CoursePage.objects.values_list("path", "translation_key"))
    result: dict[int, set[str]] = defaultdict(set)
    for path, body in LessonPage.objects.values_list("path", "body"):
        course_key = next((courses[path[:end]] for end in range(len(path) - 4, 0, -4) if path[:end] in courses), None)
        if course_key is None:
            continue
        for block in body.raw_data:
            exercise = block.get("value") if block.get("type") == "exercise" else None
            if isinstance(exercise, dict) and isinstance(exercise.get("exercise"), int):
                result[exercise["exercise"]].add(str(course_key))
    return dict(result)


def latest_run() -> RollupRun | None:
    return RollupRun.objects.order_by("-finished_at").first()


def _rates(counts: dict[str, int], figures: dict[str, Figure], score: tuple[float, int, int]) -> dict[str, Figure]:
    result = dict(figures)
    result["completion_rate"] = rate_figure(
        counts.get("completed", 0), counts.get("enrolled", 0), numerator_figure=figures.get("completed")
    )
    score_sum, scored, learners = score
    result["average_score"] = average_figure(score_sum, scored, learners=learners)
    return result


def _month_range(first: date, last: date) -> list[date]:
    months, current = [], first
    while current <= last:
        months.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def _language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code or _("Unknown language")


def _labels(dimension: str, members: list[str]) -> dict[str, str]:
    if dimension == Dimension.COURSE:
        titles: dict[str, dict[str, str]] = defaultdict(dict)
        rows = CoursePage.objects.filter(translation_key__in=[m for m in members if m]).values_list(
            "translation_key", "locale__language_code", "title"
        )
        for key, language, title in rows:
            titles[str(key)][language] = title
        language = get_language() or settings.LANGUAGE_CODE
        return {m: titles[m].get(language) or titles[m].get("en") or next(iter(titles[m].values()), m) for m in members}
    if dimension == Dimension.CENTRE:
        ids = [int(m) for m in members if m]
        names = {
            str(pk): f"{name} ({city})"
            for pk, name, city in TrainingCentre.objects.filter(pk__in=ids).values_list("pk", "name", "city")
        }
        return {m: names.get(m, _("No training centre")) if m else _("No training centre") for m in members}
    if dimension == Dimension.LANGUAGE:
        return {m: _language_name(m) for m in members}
    if dimension == Dimension.SEX:
        return {m: str(Gender(m).label) if m in Gender.values else m for m in members}
    if dimension == Dimension.AGE:
        return {m: str(AgeBand(m).label) if m in AgeBand.values else m for m in members}
    return {m: m for m in members}


_BREAKDOWNS = (
    (Dimension.COURSE, COURSE_MEASURES, TOTAL),
    (Dimension.CENTRE, LEARNER_MEASURES, TOTAL),
    (Dimension.LANGUAGE, LEARNER_MEASURES, TOTAL),
    (Dimension.SEX, LEARNER_MEASURES, SEX_TOTAL),
    (Dimension.AGE, LEARNER_MEASURES, AGE_TOTAL),
)
_AGE_ORDER = {band: index for index, band in enumerate(AgeBand.values)}


def country_dashboard(*, country: str) -> CountryDashboard:
    """Everything the country dashboard, its CSV and the API show for one country, suppressed."""
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    by_month: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MONTHLY, 0))
    for month, dimension, member, *values in MonthlyUptake.objects.filter(country=country).values_list(
        "month", "dimension", "member", *MONTHLY
    ):
        cell = counts[(dimension, member)]
        for measure, value in zip(MONTHLY, values, strict=True):
            cell[measure] += value
        if dimension == Dimension.TOTAL:
            by_month[month] = dict(zip(MONTHLY, values, strict=True))
    scores: dict[tuple, tuple[float, int, int]] = {}
    for dimension, member, active, *score in LearnerSnapshot.objects.filter(country=country).values_list(
        "dimension", "member", "active_30d", "score_sum", "scored", "scored_learners"
    ):
        if dimension != Dimension.COURSE:  # course slices hold scores only
            counts[(dimension, member)]["active_30d"] = active
        else:
            counts[(dimension, member)]  # a course with scores but no enrolment still gets a row
        scores[(dimension, member)] = tuple(score)
    counts[TOTAL]  # a country with no learners still has a (zero) total
    members: dict[str, list[str]] = defaultdict(list)
    for dimension, member in counts:
        if dimension != Dimension.TOTAL:
            members[dimension].append(member)
    for dimension, total_key in ((Dimension.SEX, SEX_TOTAL), (Dimension.AGE, AGE_TOTAL)):
        counts[total_key] = {
            measure: sum(counts[(dimension, m)][measure] for m in members[dimension]) for measure in COUNTS
        }
        scores[total_key] = _score_sum(scores.get((dimension, m), NO_SCORE) for m in members[dimension])
    months = _month_range(min(by_month), max(by_month)) if by_month else []
    month_keys = [("month", month.isoformat()) for month in months]
    for month, key in zip(months, month_keys, strict=True):
        counts[key] = {**dict.fromkeys(COUNTS, 0), **by_month.get(month, {})}

    figures: dict[tuple, dict[str, Figure]] = defaultdict(dict)
    for measure in COUNTS:
        relations: list[tuple[tuple, list[tuple]]] = [
            (TOTAL, [(Dimension.CENTRE, m) for m in members[Dimension.CENTRE]]),
            (TOTAL, [(Dimension.LANGUAGE, m) for m in members[Dimension.LANGUAGE]]),
            (SEX_TOTAL, [(Dimension.SEX, m) for m in members[Dimension.SEX]]),
            (AGE_TOTAL, [(Dimension.AGE, m) for m in members[Dimension.AGE]]),
        ]
        if measure in PER_COURSE:
            relations.append((TOTAL, [(Dimension.COURSE, m) for m in members[Dimension.COURSE]]))
        if measure in MONTHLY:
            relations.append((TOTAL, month_keys))
        suppressed = suppress_linked({key: cell[measure] for key, cell in counts.items()}, relations)
        for key, figure in suppressed.items():
            figures[key][measure] = figure
    for key in counts:
        figures[key] = _rates(counts[key], figures[key], scores.get(key, NO_SCORE))

    info = m49.country(country) if country else None
    dashboard = CountryDashboard(
        country=country,
        name=country_name(country),
        alpha3=info.alpha3 if info else "",
        m49=info.m49 if info else None,
        region=_(info.region) if info else "",
        as_of=(run.finished_at if (run := latest_run()) else None),
        headline=figures[TOTAL],
        months=[Row(key[1][:7], key[1][:7], figures[key]) for key in month_keys],
    )
    titles = {
        Dimension.COURSE: _("By course"),
        Dimension.CENTRE: _("By training centre"),
        Dimension.LANGUAGE: _("By language"),
        Dimension.SEX: _("By gender (learners who consented)"),
        Dimension.AGE: _("By age band (learners who consented)"),
    }
    for dimension, measures, total_key in _BREAKDOWNS:
        labels = _labels(dimension, members[dimension])
        order = (
            (lambda m: _AGE_ORDER.get(m, 99))
            if dimension == Dimension.AGE
            else (lambda m, labels=labels: labels[m].lower())
        )
        rows = [Row(m, labels[m], figures[(dimension, m)]) for m in sorted(members[dimension], key=order)]
        total_label = _("All learners") if total_key == TOTAL else _("Learners who consented")
        dashboard.breakdowns.append(
            Breakdown(dimension, titles[dimension], measures, rows, Row("_T", total_label, figures[total_key]))
        )
    return dashboard


@dataclass
class GlobalView:
    as_of: datetime | None
    total: Row
    regions: list[Row]
    groupings: list[Row]
    countries: list[Row]
    # Every country with its registered-learner figure, for the map (countries without learners are 0).
    map_figures: dict[str, Figure]


def _score_sum(scores) -> tuple[float, int, int]:
    total, n, learners = NO_SCORE
    for score_sum, scored, scored_learners in scores:
        total, n, learners = total + score_sum, n + scored, learners + scored_learners
    return total, n, learners


OTHER_REGION = "Other"  # Antarctica and the unknown-country bucket


def global_view(*, countries: frozenset[str]) -> GlobalView:
    """Per-country figures with M49 region and LDC/LLDC/SIDS roll-ups, suppressed as linked tables."""
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    scores: dict[tuple, tuple[float, int, int]] = defaultdict(lambda: NO_SCORE)
    totals = (
        MonthlyUptake.objects.filter(dimension=Dimension.TOTAL)
        .values("country")
        .annotate(**{measure: Sum(measure) for measure in MONTHLY})
        .order_by()
    )
    for row in totals:
        cell = counts[("country", row["country"])]
        for measure in MONTHLY:
            cell[measure] = row[measure] or 0
    for code, active, *score in LearnerSnapshot.objects.filter(dimension=Dimension.TOTAL).values_list(
        "country", "active_30d", "score_sum", "scored", "scored_learners"
    ):
        counts[("country", code)]["active_30d"] = active
        scores[("country", code)] = tuple(score)
    present = sorted(code for kind, code in list(counts) if kind == "country" and code in countries)
    region_children: dict[str, list[tuple]] = defaultdict(list)
    group_children: dict[str, list[tuple]] = defaultdict(list)
    for code in present:
        info = m49.country(code) if code else None
        region_children[info.region if info and info.region else OTHER_REGION].append(("country", code))
        for group, flag in m49.GROUPINGS.items():
            if info and getattr(info, flag):
                group_children[group].append(("country", code))
    for parents, prefix in ((region_children, "region"), (group_children, "group")):
        for name, children in parents.items():
            counts[(prefix, name)] = {m: sum(counts[c][m] for c in children) for m in COUNTS}
            scores[(prefix, name)] = _score_sum(scores[c] for c in children)
    counts[("global", "")] = {m: sum(counts[("region", r)][m] for r in region_children) for m in COUNTS}
    scores[("global", "")] = _score_sum(scores[("region", r)] for r in region_children)
    relations = [(("region", name), children) for name, children in region_children.items()]
    relations += [(("group", name), children) for name, children in group_children.items()]
    relations.append((("global", ""), [("region", name) for name in region_children]))
    keys = [("global", ""), *[("region", r) for r in region_children], *[("group", g) for g in group_children]]
    keys += [("country", code) for code in present]
    figures: dict[tuple, dict[str, Figure]] = defaultdict(dict)
    for measure in COUNTS:
        # Each country's total is also on its own dashboard, with the same rounding: it is never
        # hidden here to protect another cell, which would be pointless; its region is hidden instead.
        linked = suppress_linked(
            {key: counts[key][measure] for key in keys},
            relations,
            published_elsewhere=[("country", code) for code in present],
        )
        for key, figure in linked.items():
            figures[key][measure] = figure
    for key in keys:
        figures[key] = _rates(counts[key], figures[key], scores[key])
    region_order = [*m49.REGIONS, OTHER_REGION]
    return GlobalView(
        as_of=(run.finished_at if (run := latest_run()) else None),
        total=Row("_T", _("All countries"), figures[("global", "")]),
        regions=[Row(r, _(r), figures[("region", r)]) for r in region_order if r in region_children],
        groupings=[Row(g, g, figures[("group", g)]) for g in m49.GROUPINGS if g in group_children],
        countries=sorted(
            (Row(code, country_name(code), figures[("country", code)]) for code in present),
            key=lambda row: (row.key == UNKNOWN, row.label),
        ),
        map_figures={code: figures[("country", code)]["registered"] for code in present},
    )
