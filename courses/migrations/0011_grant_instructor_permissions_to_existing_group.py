"""Give an existing "Instructors" group the permissions new groups get (courses/services.py).

`instructor_permissions_grant` runs only when lms/accounts creates the group, so a deployment
whose group predates exercises, drafts and datasets lacks their permissions. The set is frozen
here as it stood when this migration was written, not imported, so later changes to the service
do not rewrite history. Granting is additive; the reverse leaves permissions alone.
"""

from django.db import migrations

GROUP_NAME = "Instructors"
#: (app label, model, codename, name): permissions a fresh database only gets after post_migrate
#: (publish_exercise is added by Wagtail's snippets), so they are created here when missing.
MODEL_PERMISSIONS = [
    ("courses", "exercise", "view_exercise", "Can view exercise"),
    ("courses", "exercise", "add_exercise", "Can add exercise"),
    ("courses", "exercise", "change_exercise", "Can change exercise"),
    ("courses", "exercise", "publish_exercise", "Can publish exercise"),
    ("courses", "dataset", "add_dataset", "Can add dataset"),
    ("courses", "dataset", "change_dataset", "Can change dataset"),
    ("courses", "dataset", "delete_dataset", "Can delete dataset"),
]
#: On every language's catalog: author and publish courses there, which importing a package needs.
PAGE_PERMISSIONS = [
    ("add_page", "Can add page"),
    ("change_page", "Can change page"),
    ("publish_page", "Can publish page"),
]


def _permission(apps, app_label: str, model: str, codename: str, name: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": name}
    )
    return permission


def grant_instructor_permissions(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    CatalogPage = apps.get_model("courses", "CatalogPage")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is None:
        return  # a new deployment: lms/accounts grants the current set when it creates the group
    group.permissions.add(*(_permission(apps, *entry) for entry in MODEL_PERMISSIONS))
    page_permissions = [_permission(apps, "wagtailcore", "page", *entry) for entry in PAGE_PERMISSIONS]
    for catalog_id in CatalogPage.objects.values_list("pk", flat=True):
        for permission in page_permissions:
            GroupPagePermission.objects.get_or_create(group=group, page_id=catalog_id, permission=permission)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("courses", "0010_exercise_check_publish_when_passed"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(grant_instructor_permissions, migrations.RunPython.noop)]
