"""Exercises are snippets: instructors pick them in a lesson's exercise block. Datasets are
snippets too, attached to exercises (courses/datasets.py)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from courses import admin_views
from courses.forms import DatasetForm
from courses.models import Dataset, Exercise


class ExerciseViewSet(SnippetViewSet):
    model = Exercise
    icon = "code"
    list_display = ["title", "format", "max_score", "updated_at"]
    search_fields = ["title"]
    add_to_admin_menu = True
    # Upload, self-check on save, publishing gated on the check: courses/admin_views.py.
    edit_handler = admin_views.EXERCISE_EDIT_HANDLER
    add_view_class = admin_views.ExerciseCreateView
    edit_view_class = admin_views.ExerciseEditView


register_snippet(ExerciseViewSet)


class DatasetViewSet(SnippetViewSet):
    model = Dataset
    icon = "table"
    menu_label = _("Datasets")
    list_display = ["file_name", "format", "size", "licence", "updated_at"]
    search_fields = ["file_name", "description", "source"]
    add_to_admin_menu = True
    edit_handler = ObjectList(
        [
            FieldPanel("upload"),
            FieldPanel("file_name"),
            FieldPanel("source"),
            FieldPanel("licence"),
            FieldPanel("description"),
            FieldPanel("exercises"),
        ],
        base_form_class=DatasetForm,
    )


register_snippet(DatasetViewSet)


@hooks.register("register_admin_urls")
def exercise_check_urls() -> list:
    return [path("exercises/checks/<int:check_id>/", admin_views.check_status, name="exercise_check_status")]


# Admin features that register their own hooks: the translation report (Reports > Translation
# progress) and course packages (the "Download package" button and the import form).
from courses import translation_admin  # noqa: E402, F401
from courses.packaging import admin_hooks  # noqa: E402, F401
