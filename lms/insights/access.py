"""Who may see which country's aggregates. Checked by every page, export and API call."""

from django.contrib.auth.models import AnonymousUser, User

from lms.accounts.models import Role
from lms.insights.m49 import COUNTRIES

UNKNOWN = ""  # the bucket of learners with no country; only network admins see it


def profile_role(user: User | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def is_network_admin(user: User | AnonymousUser) -> bool:
    return profile_role(user) == Role.NETWORK_ADMIN


def visible_countries(user: User | AnonymousUser) -> frozenset[str]:
    """Country codes whose aggregates this person may see; empty for everyone but analysts and admins."""
    role = profile_role(user)
    if role == Role.NETWORK_ADMIN:
        return frozenset(COUNTRIES) | {UNKNOWN}
    if role == Role.MINISTRY_ANALYST:
        return frozenset(str(code) for code in user.profile.analyst_countries)
    return frozenset()


def may_see_country(user: User | AnonymousUser, country: str) -> bool:
    return country in visible_countries(user)
