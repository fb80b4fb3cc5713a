from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.packaging import PackageError, course_package_import
from courses.packaging.archive import MAX_PACKAGE_BYTES


class Command(BaseCommand):
    help = "Import a course package (zip) made by export_course on this or another deployment; all or nothing."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("package", help="the .zip file")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        path = Path(options["package"])
        if not path.is_file():
            raise CommandError(f"No file at {path}")
        if path.stat().st_size > MAX_PACKAGE_BYTES:
            raise CommandError(f"{path}: larger than {MAX_PACKAGE_BYTES // 2**20} MiB")
        try:
            report = course_package_import(data=path.read_bytes())
        except PackageError as error:
            raise CommandError(f"{path.name}: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.course.title} ({report.course.url_path}): {report.pages} pages, "
                f"{report.aliases} aliases, {len(report.exercises)} exercises, {report.images_created} images "
                f"({report.images_reused} already here), {report.datasets} datasets"
            )
        )
        if report.exercises:
            self.stdout.write(
                "The exercises are published one by one as their self-check passes on a grading worker "
                "(queue 'grading'); until then lessons show them as not available yet."
            )
