from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from courses.content_format import ContentError
from courses.content_loader import load_content


class Command(BaseCommand):
    help = "Create or update the course pages from content/ (idempotent: unchanged files change nothing)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--content-dir", default=str(Path(settings.BASE_DIR) / "content"))

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        content_dir = Path(options["content_dir"])
        if not content_dir.is_dir():
            raise CommandError(f"No content folder at {content_dir}")
        try:
            report = load_content(content_dir)
        except ContentError as error:
            raise CommandError(str(error)) from error
        for label in report.created:
            self.stdout.write(f"created  {label}")
        for label in report.updated:
            self.stdout.write(f"updated  {label}")
        for label in report.aliased:
            self.stdout.write(f"alias    {label} (not translated yet)")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.created)} created, {len(report.updated)} updated, "
                f"{len(report.aliased)} aliases, {report.unchanged} unchanged"
            )
        )
