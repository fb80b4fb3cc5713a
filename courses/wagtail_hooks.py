"""Exercises are snippets: instructors pick them in a lesson's exercise block. Datasets are
snippets too, attached to exercises (courses/datasets.py)."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from courses.forms import DatasetForm
from courses.models import Dataset, Exercise


class ExerciseViewSet(SnippetViewSet):
    model = Exercise
    icon = "code"
    list_display = ["title", "format", "max_score", "updated_at"]
    search_fields = ["title"]
    add_to_admin_menu = True


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


# Admin features that register their own hooks: the translation report (Reports > Translation
# progress) and course packages (the "Download package" button and the import form).
from courses import translation_admin  # noqa: E402, F401
from courses.packaging import admin_hooks  # noqa: E402, F401
