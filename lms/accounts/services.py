"""Writes to profiles, roles and training centres. Views, admin and commands call these."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.utils import timezone

from lms.accounts.models import Profile, Role, TrainingCentre

INSTRUCTORS_GROUP = "Instructors"


def profile_create(
    *,
    user: AbstractBaseUser,
    country: str = "",
    preferred_language: str = "en",
    centre: TrainingCentre | None = None,
    consents_to_statistics: bool = False,
) -> Profile:
    profile, _created = Profile.objects.get_or_create(
        user=user,
        defaults={
            "country": country,
            "preferred_language": preferred_language,
            "centre": centre,
            "consents_to_statistics": consents_to_statistics,
            "consent_updated_at": timezone.now() if consents_to_statistics else None,
        },
    )
    return profile


def profile_get_or_create(*, user: AbstractBaseUser) -> Profile:
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(
    *,
    profile: Profile,
    display_name: str,
    country: str,
    preferred_language: str,
    centre: TrainingCentre | None,
    consents_to_statistics: bool,
    gender: str = "",
    age_band: str = "",
) -> Profile:
    """Update a learner's own profile. Demographics are dropped unless the learner consents."""
    if not consents_to_statistics:
        gender, age_band = "", ""
    if profile.consents_to_statistics != consents_to_statistics:
        profile.consent_updated_at = timezone.now()
    profile.display_name = display_name
    profile.country = country
    profile.preferred_language = preferred_language
    profile.centre = centre
    profile.consents_to_statistics = consents_to_statistics
    profile.gender = gender
    profile.age_band = age_band
    profile.save(
        update_fields=[
            "display_name",
            "country",
            "preferred_language",
            "centre",
            "consents_to_statistics",
            "consent_updated_at",
            "gender",
            "age_band",
        ]
    )
    return profile


def _instructors_group() -> Group:
    group, created = Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
    if created:
        group.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
        # Page permissions on the course tree are granted by courses.services.instructor_permissions_grant,
        # which knows the page tree; accounts stays free of Wagtail page models.
        from courses.services import instructor_permissions_grant

        instructor_permissions_grant(group=group)
    return group


@transaction.atomic
def role_assign(*, user: AbstractBaseUser, role: Role | str, analyst_countries: Iterable[str] = ()) -> Profile:
    """Give a person a role, with the Django/Wagtail permissions that come with it."""
    role = Role(role)
    profile = profile_get_or_create(user=user)
    profile.role = role
    profile.analyst_countries = list(analyst_countries) if role == Role.MINISTRY_ANALYST else []
    profile.save(update_fields=["role", "analyst_countries"])

    group = _instructors_group()
    if role == Role.INSTRUCTOR:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    user.is_staff = role == Role.NETWORK_ADMIN
    user.is_superuser = role == Role.NETWORK_ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    return profile


def training_centre_create(*, name: str, country: str, city: str) -> TrainingCentre:
    centre, _created = TrainingCentre.objects.get_or_create(name=name, country=country, city=city)
    return centre
