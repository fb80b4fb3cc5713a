"""Who a person is on the platform: profile, role and the training centre they belong to."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class TrainingCentre(models.Model):
    """One of the network's AI training centres."""

    name = models.CharField(_("name"), max_length=200)
    country = CountryField(_("country"))
    city = models.CharField(_("city"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["country", "city", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "country", "city"], name="unique_centre_per_city"),
        ]
        verbose_name = _("training centre")
        verbose_name_plural = _("training centres")

    def __str__(self) -> str:
        return f"{self.name} ({self.city}, {self.country.code})"


class Role(models.TextChoices):
    LEARNER = "learner", _("Learner")
    INSTRUCTOR = "instructor", _("Instructor")
    MINISTRY_ANALYST = "analyst", _("Ministry analyst")
    NETWORK_ADMIN = "admin", _("Network admin")


# Staff roles see other people's data, so they must use two-factor authentication.
STAFF_ROLES = frozenset({Role.INSTRUCTOR, Role.MINISTRY_ANALYST, Role.NETWORK_ADMIN})


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Another gender")


class AgeBand(models.TextChoices):
    UNDER_18 = "lt18", _("Under 18")
    FROM_18_TO_24 = "18-24", _("18 to 24")
    FROM_25_TO_34 = "25-34", _("25 to 34")
    FROM_35_TO_49 = "35-49", _("35 to 49")
    FROM_50_TO_64 = "50-64", _("50 to 64")
    FROM_65 = "65+", _("65 or over")


class Profile(models.Model):
    """What the platform knows about a person beyond their login.

    Gender and age band are kept only while `consents_to_statistics` is true: withdrawing consent
    erases them (lms.accounts.services.profile_update).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    country = CountryField(_("country"), blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    centre = models.ForeignKey(
        TrainingCentre,
        verbose_name=_("training centre"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.LEARNER)
    # The countries whose aggregates a ministry analyst may see.
    analyst_countries = CountryField(_("countries overseen"), multiple=True, blank=True)
    consents_to_statistics = models.BooleanField(_("consent to anonymous statistics"), default=False)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    age_band = models.CharField(_("age band"), max_length=10, choices=AgeBand.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["country"]), models.Index(fields=["role"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consents_to_statistics=True) | (models.Q(gender="") & models.Q(age_band="")),
                name="demographics_only_with_consent",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES
