"""The data migration that gives an "Instructors" group made before exercises, drafts and
datasets the permissions a new group gets, including what importing a course package needs."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from wagtail.models import GroupPagePermission

from courses.models import CatalogPage
from courses.packaging.views import can_import
from courses.services import INSTRUCTOR_EXERCISE_PERMISSIONS, INSTRUCTOR_PAGE_PERMISSIONS
from lms.accounts.services import INSTRUCTORS_GROUP
from tests.builders import make_course

pytestmark = pytest.mark.django_db
migration = importlib.import_module("courses.migrations.0011_grant_instructor_permissions_to_existing_group")


def test_an_existing_instructors_group_gets_the_current_set_and_may_import_courses(tmp_path, django_user_model):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    assert migration.GROUP_NAME == INSTRUCTORS_GROUP
    # The group as an old deployment has it: made before exercise and dataset permissions existed.
    group = Group.objects.create(name=INSTRUCTORS_GROUP)
    instructor = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    instructor.groups.add(group)
    assert not can_import(instructor)

    migration.grant_instructor_permissions(apps, None)
    migration.grant_instructor_permissions(apps, None)  # running twice adds nothing twice

    codenames = set(group.permissions.values_list("codename", flat=True))
    assert set(INSTRUCTOR_EXERCISE_PERMISSIONS) <= codenames
    assert {"add_dataset", "change_dataset", "delete_dataset"} <= codenames
    for catalog in CatalogPage.objects.all():
        granted = GroupPagePermission.objects.filter(group=group, page=catalog)
        assert sorted(granted.values_list("permission__codename", flat=True)) == sorted(INSTRUCTOR_PAGE_PERMISSIONS)
    instructor = django_user_model.objects.get(pk=instructor.pk)  # fresh permission cache
    assert can_import(instructor)


def test_a_database_without_the_group_is_left_alone():
    migration.grant_instructor_permissions(apps, None)
    assert not Group.objects.filter(name=INSTRUCTORS_GROUP).exists()
