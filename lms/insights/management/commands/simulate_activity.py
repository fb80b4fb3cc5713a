from django.core.management.base import BaseCommand

from lms.insights.simulation import activity_simulate


class Command(BaseCommand):
    help = (
        "Create synthetic learners across many countries with enrollments, lesson completions, submissions "
        "and certificates."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--learners", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=540, help="how far back the simulated history starts")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        report = activity_simulate(learners=options["learners"], seed=options["seed"], days=options["days"])
        self.stdout.write(
            f"{report.learners} learners, {report.enrollments} enrollments, {report.lesson_completions} lesson "
            f"completions, {report.submissions} submissions ({report.activity_rows} activity rows), "
            f"{report.certificates} certificates."
        )
