"""Rendered pages for anonymous visitors, kept in the cache until any page is published.

Most readers of a lesson are anonymous or reading the same words as everyone else; serving them a
stored rendering keeps lesson pages almost as cheap as a trivial view (bench/pages.py). Any publish,
unpublish, move or delete bumps one generation number, which retires every stored page at once.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

GENERATION_KEY = "page-cache:generation"


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


def _cacheable(request: HttpRequest) -> bool:
    if request.method != "GET" or settings.ANONYMOUS_PAGE_CACHE_SECONDS <= 0:
        return False
    if request.user.is_authenticated:
        return False
    # A visitor with a session or pending messages may see something personal (a flash message).
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "messages" not in request.COOKIES


def serve_cached(request: HttpRequest, render: Callable[[], HttpResponse]) -> HttpResponse:
    if not _cacheable(request):
        return render()
    key = f"page-cache:{_generation()}:{get_language()}:{request.get_full_path()}"
    stored = cache.get(key)
    if stored is not None:
        content, content_type = stored
        response = HttpResponse(content, content_type=content_type)
    else:
        response = render()
        if hasattr(response, "render"):
            response.render()
        if response.status_code == 200 and not response.cookies:
            cache.set(key, (response.content, response["Content-Type"]), settings.ANONYMOUS_PAGE_CACHE_SECONDS)
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response
