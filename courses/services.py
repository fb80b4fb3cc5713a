"""Writes that concern the course tree itself (permissions on it)."""

from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission

from courses.models import CatalogPage

INSTRUCTOR_PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page"]
# Exercises are snippets: instructors bring them as notebooks (publishing waits for the self-check,
# courses/exercise_checks.py), see them and their analytics, and regrade after fixing a test.
INSTRUCTOR_EXERCISE_PERMISSIONS = ["view_exercise", "add_exercise", "change_exercise", "publish_exercise"]


def instructor_permissions_grant(*, group: Group) -> None:
    """Let a group author pages under every language's catalog, and exercises."""
    permissions = Permission.objects.filter(
        content_type__app_label="wagtailcore", codename__in=INSTRUCTOR_PAGE_PERMISSIONS
    )
    # Datasets are snippets (courses/datasets.py): instructors upload and attach them.
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="courses", codename__in=["add_dataset", "change_dataset", "delete_dataset"]
        )
    )
    for catalog in CatalogPage.objects.all():
        for permission in permissions:
            GroupPagePermission.objects.get_or_create(group=group, page=catalog, permission=permission)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="courses", codename__in=INSTRUCTOR_EXERCISE_PERMISSIONS)
    )
