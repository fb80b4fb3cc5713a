"""allauth adapter: after logging in, a learner lands in the language they chose."""

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import translate_url


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        url = super().get_login_redirect_url(request)
        profile = getattr(request.user, "profile", None)
        return translate_url(url, profile.preferred_language) if profile else url
