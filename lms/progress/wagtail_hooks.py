"""Instructor analytics, regrades and the grades export in the Wagtail admin, and the links to them
from the Exercise snippet (listing and edit view) and from course pages (header and listing)."""

from typing import Any

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin import widgets
from wagtail.snippets.action_menu import ActionMenuItem

from courses.models import CoursePage, Exercise
from lms.progress import admin_views

urlpatterns = [
    path("exercises/<int:exercise_id>/", admin_views.exercise_analytics, name="exercise"),
    path("exercises/<int:exercise_id>/regrade/", admin_views.regrade_start, name="regrade_start"),
    path("regrades/<int:regrade_id>/", admin_views.regrade_detail, name="regrade"),
    path("regrades/<int:regrade_id>/status/", admin_views.regrade_status, name="regrade_status"),
    path("courses/<int:page_id>/", admin_views.course_analytics, name="course"),
    path("courses/<int:page_id>/grades.csv", admin_views.course_grades_csv, name="course_grades"),
]


@hooks.register("register_admin_urls")
def analytics_urls() -> list[Any]:
    return [path("analytics/", include((urlpatterns, "progress_analytics")))]


@hooks.register("register_snippet_listing_buttons")
def exercise_listing_buttons(snippet: Any, user: Any, next_url: str | None = None) -> Any:
    if isinstance(snippet, Exercise) and admin_views.may_view_exercise(user):
        yield widgets.Button(
            _("Analytics"), admin_views.exercise_analytics_url(snippet), icon_name="table", priority=15
        )


class ExerciseAnalyticsMenuItem(ActionMenuItem):
    label = _("Analytics and regrade")
    icon_name = "table"
    order = 90

    def is_shown(self, context: dict[str, Any]) -> bool:
        return context.get("view") == "edit" and admin_views.may_view_exercise(context["request"].user)

    def get_url(self, parent_context: dict[str, Any]) -> str:
        return admin_views.exercise_analytics_url(parent_context["instance"])


@hooks.register("register_snippet_action_menu_item")
def exercise_action_menu_item(model: type) -> ActionMenuItem | None:
    return ExerciseAnalyticsMenuItem() if model is Exercise else None


def _course_buttons(page: Any, user: Any, priority: int) -> Any:
    if issubclass(page.specific_class or type(page), CoursePage) and admin_views.may_view_course(user, page):
        yield widgets.Button(
            _("Learner analytics"), admin_views.course_analytics_url(page), icon_name="table", priority=priority
        )


@hooks.register("register_page_header_buttons")
def course_header_buttons(page: Any, user: Any, view_name: str, next_url: str | None = None) -> Any:
    yield from _course_buttons(page, user, priority=75)


@hooks.register("register_page_listing_more_buttons")
def course_listing_buttons(page: Any, user: Any, next_url: str | None = None) -> Any:
    yield from _course_buttons(page, user, priority=55)
