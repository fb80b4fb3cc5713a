"""Who is calling: a personal token (`Authorization: Token <key>` or `Bearer <key>`) or the session.

With a token there is no CSRF check (a browser never sends the header by itself). With the session
cookie, unsafe methods need the CSRF token (X-CSRFToken header), exactly as the web forms do.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from lms.api.models import ApiToken, token_hash

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# last_used_at is written at most this often per token: reading an API should not write each time.
LAST_USED_GRANULARITY = timedelta(minutes=5)


def error(status: int, message: str, **extra: object) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


def _token_user(header: str) -> object | None:
    scheme, _space, raw = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not raw.strip():
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw.strip())).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _csrf_refusal(request: HttpRequest) -> str | None:
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    response = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    return None if response is None else _("CSRF check failed: send the X-CSRFToken header with the session.")


View = Callable[..., HttpResponse]


def api_endpoint(*methods: str, public: bool = False) -> Callable[[View], View]:
    """Allow `methods`, authenticate (unless `public`), and answer JSON errors instead of HTML pages."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method not in methods:
                response = error(405, _("Method not allowed."))
                response["Allow"] = ", ".join(methods)
                return response
            if public:
                return view(request, *args, **kwargs)
            header = request.headers.get("Authorization", "")
            if header:
                user = _token_user(header)
                if user is None:
                    return error(401, _("The API token is missing, malformed, revoked or unknown."))
                request.user = user  # type: ignore[assignment]
                request.api_auth = "token"  # type: ignore[attr-defined]
            elif request.user.is_authenticated:
                if request.method not in SAFE_METHODS and (refusal := _csrf_refusal(request)):
                    return error(403, refusal)
                request.api_auth = "session"  # type: ignore[attr-defined]
            else:
                return error(401, _("Authentication required: send an API token or log in."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
