from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, except for a 404 under /api/.

    Django redirects any 404 outside the language prefixes to /<language>/<path>, which the page
    tree then answers. An API client must get the 404 itself (an unknown or someone else's object).
    """

    def process_response(self, request, response):  # type: ignore[no-untyped-def]
        if response.status_code == 404 and request.path_info.startswith("/api/"):
            patch_vary_headers(response, ("Accept-Language",))
            response.headers.setdefault("Content-Language", translation.get_language())
            return response
        return super().process_response(request, response)
