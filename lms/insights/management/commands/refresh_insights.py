from django.core.management.base import BaseCommand

from lms.insights import services


class Command(BaseCommand):
    help = "Rebuild the insights rollups from raw activity (Celery beat runs the same refresh)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--since-last", action="store_true", help="only the months since the previous refresh (what beat runs)"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        run = services.rollups_refresh(full=not options["since_last"])
        kind = "full" if run.full else "since the last refresh"
        self.stdout.write(f"Rollups rebuilt ({kind}) from {run.source_rows} activity rows in {run.seconds:.2f} s.")
