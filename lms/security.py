"""A strict Content-Security-Policy on every page people read.

Scripts only from this site (no inline script, no eval), nothing fetched from elsewhere, no
framing, forms only back to this site. Learner output shown on a page therefore cannot run or
call out even if it slipped past escaping. Inline style attributes are allowed: with every fetch
limited to this site they cannot leak anything. The Wagtail and Django admins, which rely on
inline scripts, keep their own defaults.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
ADMIN_PREFIXES = ("/cms/", "/django-admin/")
# Wagtail renders previews through a dummy request (is_dummy) that the admin shows in an iframe.
PREVIEW_POLICY = POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY and not request.path.startswith(ADMIN_PREFIXES):
            policy = PREVIEW_POLICY if getattr(request, "is_dummy", False) else POLICY
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
