"""Pages and CSV exports for ministry analysts and network admins. Every view checks access itself."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from lms.insights import charts, exports, selectors
from lms.insights.access import is_network_admin, may_see_country, visible_countries
from lms.insights.suppression import MIN_BASE, SMALL

MEASURE_LABELS = {
    "registered": lambda: _("Registered learners"),
    "enrolled": lambda: _("Enrolments"),
    "active_30d": lambda: _("Active in the last 30 days"),
    "completed": lambda: _("Completions"),
    "completion_rate": lambda: _("Completion rate"),
    "average_score": lambda: _("Average best score"),
    "certified": lambda: _("Certificates issued"),
}
MEASURES = ("registered", "enrolled", "active_30d", "completed", "completion_rate", "certified", "average_score")


def analyst_or_admin(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous people are sent to log in; anyone who is neither an analyst nor an admin gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not visible_countries(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _country_or_403(request: HttpRequest, slug: str) -> str:
    country = selectors.country_from_slug(slug)
    if country is None:
        raise Http404
    if not may_see_country(request.user, country):
        raise PermissionDenied
    return country


def _csv_response(observations: list[dict[str, str]], filename: str) -> HttpResponse:
    response = HttpResponse(exports.to_csv(observations), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@analyst_or_admin
def index(request: HttpRequest) -> HttpResponse:
    if is_network_admin(request.user):
        view = selectors.global_view(countries=visible_countries(request.user))
        return render(
            request,
            "insights/global.html",
            {
                "view": view,
                "map_svg": charts.world_tile_map(view.map_figures, title=_("Registered learners by country")),
                "legend": charts.map_legend(),
                "measures": MEASURES,
                "measure_labels": {k: v() for k, v in MEASURE_LABELS.items()},
                "small": SMALL,
                "min_base": MIN_BASE,
            },
        )
    countries = sorted(
        ((selectors.country_slug(code), selectors.country_name(code)) for code in visible_countries(request.user)),
        key=lambda item: item[1],
    )
    return render(request, "insights/index.html", {"countries": countries})


@analyst_or_admin
def country_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    country = _country_or_403(request, slug)
    dashboard = selectors.country_dashboard(country=country)
    return render(
        request,
        "insights/country.html",
        {
            "dashboard": dashboard,
            "slug": slug,
            "trend_svg": charts.monthly_trend(
                dashboard.months, title=_("Enrolments, completions and certificates by month")
            ),
            "headline_measures": MEASURES,
            "measure_labels": {k: v() for k, v in MEASURE_LABELS.items()},
            "is_admin": is_network_admin(request.user),
            "small": SMALL,
            "min_base": MIN_BASE,
        },
    )


@analyst_or_admin
def country_csv(request: HttpRequest, slug: str) -> HttpResponse:
    country = _country_or_403(request, slug)
    dashboard = selectors.country_dashboard(country=country)
    return _csv_response(exports.country_observations(dashboard), f"opencapacity-uptake-{slug}.csv")


@analyst_or_admin
def global_csv(request: HttpRequest) -> HttpResponse:
    if not is_network_admin(request.user):
        raise PermissionDenied
    view = selectors.global_view(countries=visible_countries(request.user))
    return _csv_response(exports.global_observations(view), "opencapacity-uptake-world.csv")
