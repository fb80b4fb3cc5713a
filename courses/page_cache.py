"""Rendered pages for anonymous visitors, kept in the cache until any page is published.

Most readers of a lesson are anonymous or reading the same words as everyone else. The middleware
answers them from the cache before URL routing, so a lesson costs about what a trivial view costs
(bench/pages.py). Pages opt in (ContentSourceMixin.serve marks their responses); any publish,
unpublish, move or delete bumps one generation number, which retires every stored page at once.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

GENERATION_KEY = "page-cache:generation"
# Headers a stored page is served with again; everything else is per-request.
KEPT_HEADERS = (
    "Content-Type",
    "Content-Language",
    "Vary",
    "X-Frame-Options",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Cross-Origin-Opener-Policy",
    "Content-Security-Policy",
)


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = 1
        cache.add(GENERATION_KEY, generation, timeout=None)
    return int(generation)


def invalidate(**_kwargs: Any) -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def connect_signals() -> None:
    from django.db.models.signals import post_delete
    from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

    for signal in (page_published, page_unpublished, post_page_move, page_slug_changed):
        signal.connect(invalidate, dispatch_uid=f"page_cache_{signal}")
    post_delete.connect(_invalidate_on_page_delete, dispatch_uid="page_cache_delete")


def _invalidate_on_page_delete(sender: type, **kwargs: Any) -> None:
    from wagtail.models import Page

    if issubclass(sender, Page):
        invalidate()


def is_anonymous_request(request: HttpRequest) -> bool:
    """A GET from a visitor with no session and no pending message: nothing personal on the page."""
    if request.method != "GET" or settings.ANONYMOUS_PAGE_CACHE_SECONDS <= 0:
        return False
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "messages" not in request.COOKIES


def mark_cacheable(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if is_anonymous_request(request) and not getattr(request.user, "is_authenticated", False):
        response.anonymous_cacheable = True  # type: ignore[attr-defined]
    return response


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_anonymous_request(request):
            return self.get_response(request)
        key = f"page-cache:{_generation()}:{request.get_full_path()}"
        stored = cache.get(key)
        if stored is not None:
            content, headers = stored
            response = HttpResponse(content)
            for name, value in headers.items():
                response[name] = value
            return response
        response = self.get_response(request)
        if getattr(response, "anonymous_cacheable", False) and response.status_code == 200 and not response.cookies:
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            headers = {name: response[name] for name in KEPT_HEADERS if name in response}
            cache.set(key, (response.content, headers), settings.ANONYMOUS_PAGE_CACHE_SECONDS)
        return response
