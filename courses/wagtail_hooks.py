"""Exercises are snippets: instructors pick them in a lesson's exercise block."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from courses.models import Exercise


class ExerciseViewSet(SnippetViewSet):
    model = Exercise
    icon = "code"
    list_display = ["title", "format", "max_score", "updated_at"]
    search_fields = ["title"]
    add_to_admin_menu = True


register_snippet(ExerciseViewSet)

# Admin features that register their own hooks: the translation report (Reports > Translation
# progress) and course packages (the "Download package" button and the import form).
from courses import translation_admin  # noqa: E402, F401
from courses.packaging import admin_hooks  # noqa: E402, F401
