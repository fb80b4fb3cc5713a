"""The exercise snippet's admin: notebook upload, self-check on every save, publishing gated on it.

The form reads the uploaded notebook through courses.exercises (nothing is stored when it is
refused); every save requests the check of the version just saved; the check panel shows its
result and a static script (courses/static/courses/exercise-check.js) polls `check_status` until
it is final, so the result appears without a reload.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList, Panel
from wagtail.snippets.views.snippets import CreateView, EditView

from courses import exercise_checks
from courses.exercises import MAX_NOTEBOOK_BYTES, parse_instructor_notebook
from courses.models import Exercise, ExerciseCheckStatus, ExerciseFormat


class ExerciseAdminForm(WagtailAdminModelForm):
    notebook_file = forms.FileField(
        label=_("Instructor notebook (.ipynb)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".ipynb,application/x-ipynb+json"}),
        help_text=_("Native, nbgrader or Otter-Grader, with solutions and hidden tests. Learners get the release."),
    )
    notebook_format = forms.ChoiceField(
        label=_("Notebook format"),
        choices=[("auto", _("Detect from the notebook")), *ExerciseFormat.choices],
        initial="auto",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A blank slug is made from the title (itself from the notebook when blank), in clean().
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Part of the exercise's address. Leave blank to make it from the title.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.imported: tuple[dict[str, Any], str, Any] | None = None
        upload = cleaned.get("notebook_file")
        if upload:
            if upload.size > MAX_NOTEBOOK_BYTES:
                self.add_error(
                    "notebook_file",
                    _("%(file)s is %(size)s KiB; the limit is %(limit)s KiB.")
                    % {"file": upload.name, "size": upload.size // 1024, "limit": MAX_NOTEBOOK_BYTES // 1024},
                )
                return cleaned
            try:
                self.imported = parse_instructor_notebook(upload.read(), cleaned.get("notebook_format") or "auto")
            except ValidationError as error:
                self.add_error("notebook_file", f"{upload.name}: {' '.join(error.messages)}")
                return cleaned
            parsed = self.imported[2]
            if not cleaned.get("title") and parsed.title:
                cleaned["title"] = parsed.title[:200]
        elif not self.instance.notebook:
            self.add_error("notebook_file", _("Upload the instructor notebook."))
        if not cleaned.get("slug"):
            slug = slugify(cleaned.get("title") or "")[:100].strip("-")
            if slug:
                cleaned["slug"] = slug  # a taken one is refused by the model form's unique check
            else:
                self.add_error("slug", _("Give the exercise a slug: letters, digits and hyphens."))
        return cleaned

    def save(self, commit: bool = True) -> Exercise:
        if getattr(self, "imported", None):
            notebook, fmt, parsed = self.imported  # type: ignore[misc]
            self.instance.notebook = notebook
            self.instance.format = fmt
            self.instance.max_score = parsed.max_score
        return super().save(commit=commit)


class ExerciseCheckPanel(Panel):
    """The self-check of the version in the form, updated live by exercise-check.js."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "courses/admin/exercise_check_panel.html"

        def get_context_data(self, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
            context = super().get_context_data(parent_context)
            check = exercise_checks.exercise_check_for(exercise=self.instance)
            context["check"] = check
            context["check_message"] = exercise_checks.check_message(check)
            context["status_url"] = reverse("exercise_check_status", args=[check.pk]) if check else ""
            return context

        @property
        def media(self) -> forms.Media:
            return forms.Media(js=["courses/exercise-check.js"], css={"all": ["courses/exercise-check.css"]})


EXERCISE_EDIT_HANDLER = ObjectList(
    [
        ExerciseCheckPanel(heading=_("Self-check")),
        MultiFieldPanel([FieldPanel("notebook_file"), FieldPanel("notebook_format")], heading=_("Instructor notebook")),
        FieldPanel("title"),
        FieldPanel("slug"),
    ],
    base_form_class=ExerciseAdminForm,
)


class SelfCheckOnSaveMixin:
    """Every save requests the check of the saved version; publishing waits for it to pass."""

    request: HttpRequest
    form: Any
    new_revision: Any

    def save_instance(self) -> Exercise:
        instance = super().save_instance()  # type: ignore[misc]
        exercise_checks.exercise_check_request(exercise=self.form.instance)
        return instance

    def publish_action(self) -> Any:
        refusal = exercise_checks.exercise_publish_refusal(exercise=self.new_revision.as_object())
        if refusal:
            # The draft is saved (nothing is lost); only going live is refused.
            messages.error(self.request, refusal)
            return redirect(self._exercise_edit_url())
        return super().publish_action()  # type: ignore[misc]

    def get_success_url(self) -> str:
        # Back to the form, where the check's result appears.
        return self._exercise_edit_url()

    def _exercise_edit_url(self) -> str:
        return reverse("wagtailsnippets_courses_exercise:edit", args=[self.form.instance.pk])


class ExerciseCreateView(SelfCheckOnSaveMixin, CreateView):
    pass


class ExerciseEditView(SelfCheckOnSaveMixin, EditView):
    pass


def check_status(request: HttpRequest, check_id: int) -> JsonResponse:
    """The state of one check, for exercise-check.js (admin login is required by the admin URLconf)."""
    check = get_object_or_404(exercise_checks.ExerciseCheck, pk=check_id)
    if not request.user.has_perm("courses.change_exercise"):
        raise PermissionDenied
    return JsonResponse(
        {
            "status": check.status,
            "label": check.get_status_display(),
            "message": exercise_checks.check_message(check),
            "detail": check.detail,
            "finished": check.status in exercise_checks.FINISHED,
            "passed": check.status == ExerciseCheckStatus.PASSED,
            "cell": check.cell,
        }
    )
