"""python manage.py import_notebook FILE.ipynb --course SLUG: an exercise from an instructor notebook."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from courses.exercises import MAX_NOTEBOOK_BYTES, exercise_import
from courses.models import CoursePage
from sandbox.formats import FORMATS


class Command(BaseCommand):
    help = (
        "Create or update an exercise from an instructor notebook (native, nbgrader or Otter). It is saved "
        "as a draft and checked in the sandbox by a grading worker; publish it in the admin once the check passes."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("notebook", help="the instructor notebook (.ipynb), with solutions and hidden tests")
        parser.add_argument("--course", required=True, help="slug of the course the exercise belongs to")
        parser.add_argument("--slug", help="the exercise's slug (default: COURSE--NOTEBOOK-STEM, as content/ uses)")
        parser.add_argument("--title", default="", help="default: the notebook's own title, else the slug")
        parser.add_argument("--format", default="auto", choices=FORMATS)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        path = Path(options["notebook"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise CommandError(
                f"{path.name}: {path.stat().st_size // 1024} KiB; the limit is {MAX_NOTEBOOK_BYTES // 1024} KiB"
            )
        course = options["course"]
        if not CoursePage.objects.filter(slug=course).exists():
            raise CommandError(f"--course {course}: no course has this slug")
        slug = options["slug"] or f"{course}--{slugify(path.stem)}"
        try:
            exercise, created = exercise_import(
                slug=slug, title=options["title"], raw_notebook=path.read_bytes(), fmt=options["format"]
            )
        except ValidationError as error:
            # The engine's messages name the cell ("cell 3: ..."); nothing was stored.
            raise CommandError(f"{path.name}: {' '.join(error.messages)}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{'created' if created else 'updated'} exercise {exercise.slug} ({exercise.format}, "
                f"{exercise.max_score:g} points) as a draft; the self-check is queued on the grading workers. "
                "Publish it in the admin once the check passes."
            )
        )
