"""Wagtail admin wiring for course packages: a "Download package" button on every course and an
"Import a course package" item in the admin menu. Imported by courses/wagtail_hooks.py."""

from typing import Any

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button

from courses.models import CoursePage
from courses.packaging import views


@hooks.register("register_admin_urls")
def course_package_urls() -> list[Any]:
    return [
        path("course-packages/import/", views.ImportCourseView.as_view(), name="course_package_import"),
        path("course-packages/<int:page_id>/export/", views.export_course, name="course_package_export"),
    ]


class ImportMenuItem(MenuItem):
    def is_shown(self, request: Any) -> bool:
        return views.can_import(request.user)


@hooks.register("register_admin_menu_item")
def course_package_menu_item() -> MenuItem:
    return ImportMenuItem(_("Import a course"), reverse("course_package_import"), icon_name="upload", order=900)


def _package_button(page: Any, user: Any, priority: int) -> Button | None:
    if page.specific_class is not CoursePage or not views.can_export(user, page):
        return None
    return Button(
        _("Download package"),
        reverse("course_package_export", args=[page.pk]),
        icon_name="download",
        attrs={"download": f"{page.slug}.zip"},
        priority=priority,
    )


@hooks.register("register_page_header_buttons")
def course_package_header_button(page: Any, user: Any, view_name: str, next_url: str | None = None) -> Any:
    button = _package_button(page, user, priority=75)
    return [button] if button else []


@hooks.register("register_page_listing_more_buttons")
def course_package_listing_button(page: Any, user: Any, next_url: str | None = None) -> Any:
    button = _package_button(page, user, priority=55)
    return [button] if button else []
