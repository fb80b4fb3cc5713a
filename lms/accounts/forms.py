"""Forms for the sign-up extras and the learner's own profile."""

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from lms.accounts import services
from lms.accounts.models import AgeBand, Gender, Profile, TrainingCentre


class CentreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TrainingCentre) -> str:
        return f"{obj.name} — {obj.city}, {obj.country.name}"


def _centres() -> Any:
    return TrainingCentre.objects.filter(is_active=True).order_by("country", "city", "name")


class SignupProfileForm(forms.Form):
    """Extra fields on allauth's sign-up form; allauth calls `signup` once the user exists."""

    country = LazyTypedChoiceField(label=_("Country"), choices=countries)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES)
    centre = CentreChoiceField(
        label=_("Training centre (optional)"), queryset=TrainingCentre.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = _centres()
        language = get_language() or "en"
        if language in dict(settings.LANGUAGES):
            self.fields["preferred_language"].initial = language

    def signup(self, request: HttpRequest, user: Any) -> None:
        services.profile_create(
            user=user,
            country=self.cleaned_data["country"],
            preferred_language=self.cleaned_data["preferred_language"],
            centre=self.cleaned_data.get("centre"),
        )


class ProfileForm(forms.ModelForm):
    centre = CentreChoiceField(label=_("Training centre"), queryset=TrainingCentre.objects.none(), required=False)

    class Meta:
        model = Profile
        fields = [
            "display_name",
            "country",
            "preferred_language",
            "centre",
            "consents_to_statistics",
            "gender",
            "age_band",
        ]
        help_texts = {
            "consents_to_statistics": _(
                "Optional. If you agree, your gender and age band are counted in anonymous statistics "
                "for ministries (never shown individually). Withdrawing consent erases them."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = _centres()
        self.fields["country"].required = True
        self.fields["display_name"].max_length = 120
        self.fields["gender"].choices = [("", _("Prefer not to say")), *Gender.choices]
        self.fields["age_band"].choices = [("", _("Prefer not to say")), *AgeBand.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("consents_to_statistics") and (data.get("gender") or data.get("age_band")):
            raise forms.ValidationError(
                _("Gender and age band are collected only if you consent to anonymous statistics.")
            )
        return data
