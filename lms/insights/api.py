"""The insights REST API: the same published aggregates as the pages, for a token.

`Authorization: Bearer <token>` (issued with `manage.py issue_insights_token`). Plain Django views;
the OpenAPI 3 document is written by hand in lms/insights/openapi.py.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from lms.insights import exports, selectors
from lms.insights.access import is_network_admin, may_see_country, visible_countries
from lms.insights.models import InsightsToken, token_hash
from lms.insights.openapi import openapi_document

# last_used is written at most this often per token: a read API should not write on every call.
LAST_USED_GRANULARITY = timedelta(minutes=5)


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="insights"'
    return response


def _token_user(request: HttpRequest) -> User | None:
    scheme, _space, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    token = (
        InsightsToken.objects.select_related("user__profile")
        .filter(key_hash=token_hash(raw.strip()), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > LAST_USED_GRANULARITY:
        InsightsToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user


def token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = _token_user(request)
        if user is None:
            return _error(401, "A valid bearer token is required.")
        if not visible_countries(user):
            return _error(403, "This token's owner is neither a ministry analyst nor a network admin.")
        request.insights_user = user  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _as_of(value: object) -> str | None:
    return value.isoformat() if value else None  # type: ignore[attr-defined]


@require_GET
@token_required
def countries(request: HttpRequest) -> JsonResponse:
    user = request.insights_user  # type: ignore[attr-defined]
    codes = sorted(visible_countries(user), key=lambda code: (code == "", code))
    return JsonResponse(
        {
            "countries": [
                {
                    **exports.area_columns(code),
                    "name": selectors.country_name(code),
                    "url": request.build_absolute_uri(f"/api/v1/insights/countries/{selectors.country_slug(code)}"),
                }
                for code in codes
            ],
            "global": is_network_admin(user),
        }
    )


@require_GET
@token_required
def country(request: HttpRequest, slug: str) -> HttpResponse:
    code = selectors.country_from_slug(slug)
    if code is None:
        # 400 rather than 404: LocaleMiddleware would turn a 404 into a redirect to /<language>/api/...
        return _error(400, "Not an ISO 3166-1 alpha-2 country code.")
    if not may_see_country(request.insights_user, code):  # type: ignore[attr-defined]
        return _error(403, "This token may not read this country.")
    dashboard = selectors.country_dashboard(country=code)
    observations = exports.country_observations(dashboard)
    if _wants_csv(request):
        return HttpResponse(exports.to_csv(observations), content_type="text/csv; charset=utf-8")
    return JsonResponse(
        {
            **exports.area_columns(code),
            "name": dashboard.name,
            "as_of": _as_of(dashboard.as_of),
            "observations": observations,
        }
    )


@require_GET
@token_required
def world(request: HttpRequest) -> HttpResponse:
    user = request.insights_user  # type: ignore[attr-defined]
    if not is_network_admin(user):
        return _error(403, "Only network admins may read the global figures.")
    view = selectors.global_view(countries=visible_countries(user))
    observations = exports.global_observations(view)
    if _wants_csv(request):
        return HttpResponse(exports.to_csv(observations), content_type="text/csv; charset=utf-8")
    return JsonResponse({"as_of": _as_of(view.as_of), "observations": observations})


@require_GET
def schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
