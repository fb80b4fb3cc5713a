from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from lms.insights import services
from lms.insights.access import visible_countries


class Command(BaseCommand):
    help = "Issue an insights API token for a ministry analyst or network admin; prints it once."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("email")
        parser.add_argument("--label", default="")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        user = get_user_model().objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with e-mail {options['email']}.")
        if not visible_countries(user):
            raise CommandError("Only ministry analysts and network admins may hold insights tokens.")
        _token, raw = services.insights_token_issue(user=user, label=options["label"])
        self.stdout.write(raw)
