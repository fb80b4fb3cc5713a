"""Admin forms that go beyond a model's own fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from courses import datasets
from courses.models import Dataset, Exercise


class DatasetForm(WagtailAdminModelForm):
    """Upload a dataset (or replace its file) and say where it comes from and who may use it."""

    upload = forms.FileField(
        label=_("file"),
        required=False,
        help_text=_("A CSV (UTF-8, first line naming the columns) or Parquet file."),
    )
    # The model's own file name, optional here: the uploaded file's name by default.
    file_name = forms.CharField(
        label=_("file name"),
        required=False,
        max_length=100,
        help_text=_("Learners open the file as /data/<file name>. Empty: the uploaded file's name."),
    )
    exercises = forms.ModelMultipleChoiceField(
        label=_("exercises"),
        queryset=Exercise.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The exercises that read this file at /data."),
    )

    class Meta:
        model = Dataset
        fields = ["upload", "file_name", "source", "licence", "description", "exercises"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        name = (cleaned.get("file_name") or "").strip() or (upload.name if upload else self.instance.file_name)
        if upload is None and self.instance.pk is None:
            self.add_error("upload", _("Choose a CSV or Parquet file to upload."))
            return cleaned
        try:
            if upload is not None:
                datasets.dataset_inspect(file_name=name, content=upload)
            datasets.file_name_conflicts_check(
                file_name=name, exercises=cleaned.get("exercises") or [], dataset=self.instance
            )
        except ValidationError as error:
            self.add_error("upload" if upload is not None else "file_name", error)
        cleaned["file_name"] = name
        return cleaned

    def save(self, commit: bool = True) -> Dataset:
        """Through the service: the file is checked again, stored, and the exercises set."""
        upload = self.cleaned_data.get("upload")
        return datasets.dataset_save(
            dataset=self.instance,
            content=upload,
            file_name=self.cleaned_data["file_name"],
            exercises=self.cleaned_data.get("exercises") or [],
        )
