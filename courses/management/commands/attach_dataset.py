"""Attach a CSV or Parquet file to an exercise: ``manage.py attach_dataset SLUG FILE --source --licence``."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from courses.datasets import dataset_attach
from courses.models import Exercise


class Command(BaseCommand):
    help = "Attach a dataset file to an exercise; learners' code reads it at /data/<file name>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("exercise", help="the exercise's slug")
        parser.add_argument("file", type=Path, help="a .csv (UTF-8, with a header row) or .parquet file")
        parser.add_argument("--source", required=True, help="where the data comes from: a URL or a citation")
        parser.add_argument("--licence", required=True, help="the data's licence, e.g. CC-BY-4.0")
        parser.add_argument("--description", default="")
        parser.add_argument("--name", default="", help="the file name under /data (default: the file's own name)")

    def handle(self, *args: Any, **options: Any) -> None:
        exercise = Exercise.objects.filter(slug=options["exercise"]).first()
        if exercise is None:
            raise CommandError(f"no exercise with the slug “{options['exercise']}”")
        path: Path = options["file"]
        try:
            with open(path, "rb") as content:
                dataset = dataset_attach(
                    exercise=exercise,
                    file_name=options["name"] or path.name,
                    content=content,
                    source=options["source"],
                    licence=options["licence"],
                    description=options["description"],
                )
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"{dataset.file_name} ({dataset.get_format_display()}, {dataset.size} bytes) is attached to "
            f"“{exercise.title}”: its code reads /data/{dataset.file_name}"
        )
