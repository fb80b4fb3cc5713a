"""Exercises are snippets: instructors pick them in a lesson's exercise block."""

from django.urls import path
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from courses import admin_views
from courses.models import Exercise


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


@hooks.register("register_admin_urls")
def exercise_check_urls() -> list:
    return [path("exercises/checks/<int:check_id>/", admin_views.check_status, name="exercise_check_status")]


# Admin features that register their own hooks: the translation report (Reports > Translation
# progress) and course packages (the "Download package" button and the import form).
from courses import translation_admin  # noqa: E402, F401
from courses.packaging import admin_hooks  # noqa: E402, F401
