from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.models import CoursePage
from courses.packaging import PackageError, course_package_export


class Command(BaseCommand):
    help = "Write a course, in all its languages, with its exercises and images, as a course package (zip)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("slug", help="the course's slug")
        parser.add_argument("-o", "--output", help="the zip to write (default: SLUG.zip)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        slug = options["slug"]
        courses = CoursePage.objects.filter(slug=slug, alias_of__isnull=True).order_by("pk")
        course = courses.first()
        if course is None:
            raise CommandError(f"No course with the slug {slug!r}")
        if courses.exclude(translation_key=course.translation_key).exists():
            raise CommandError(f"Several different courses have the slug {slug!r}; rename one first")
        try:
            data = course_package_export(course=course)
        except PackageError as error:
            raise CommandError(str(error)) from error
        output = Path(options["output"] or f"{slug}.zip")
        output.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {output} ({len(data) // 1024} KiB)"))
