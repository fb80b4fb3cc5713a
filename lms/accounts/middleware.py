"""Two-factor authentication is required of every staff role (instructor, analyst, admin)."""

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from lms.accounts.models import STAFF_ROLES

# Paths a staff member without two-factor may still reach: to set it up, or to leave.
_ALLOWED_PREFIXES = ("/static/", "/media/", "/healthz")
_ALLOWED_URL_NAMES = (
    "mfa_index",
    "mfa_activate_totp",
    "account_logout",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(_ALLOWED_PREFIXES):
            profile = getattr(user, "profile", None)
            if profile is not None and profile.role in STAFF_ROLES and not self._has_totp(user):
                allowed = {reverse(name) for name in _ALLOWED_URL_NAMES}
                if request.path not in allowed:
                    messages.warning(request, _("Your role requires two-factor authentication. Please set it up now."))
                    return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    @staticmethod
    def _has_totp(user: object) -> bool:
        return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
