"""Demo accounts and training centres for `make run`. Never for production: the passwords are printed."""

import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from lms.accounts import services
from lms.accounts.models import Role

CENTRES = [
    ("Kigali AI Centre", "RW", "Kigali"),
    ("Dakar Digital Skills Hub", "SN", "Dakar"),
    ("Amman Data Academy", "JO", "Amman"),
    ("Dhaka AI Lab", "BD", "Dhaka"),
    ("Lima Centro de IA", "PE", "Lima"),
    ("Almaty AI School", "KZ", "Almaty"),
    ("Suva Pacific AI Centre", "FJ", "Suva"),
    ("Kunming AI Training Centre", "CN", "Kunming"),
]

ACCOUNTS = [
    ("learner@example.org", Role.LEARNER, "RW", []),
    ("instructor@example.org", Role.INSTRUCTOR, "SN", []),
    ("analyst@example.org", Role.MINISTRY_ANALYST, "JO", ["JO"]),
    ("admin@example.org", Role.NETWORK_ADMIN, "KE", []),
]


class Command(BaseCommand):
    help = "Create demo training centres and one account per role, printing their passwords."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--password", help="Use this password for every demo account (default: random).")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        centres = {
            country: services.training_centre_create(name=name, country=country, city=city)
            for name, country, city in CENTRES
        }
        User = get_user_model()
        self.stdout.write("Demo accounts (log in at http://127.0.0.1:8000/en/accounts/login/):")
        for email, role, country, analyst_countries in ACCOUNTS:
            password = options["password"] or secrets.token_urlsafe(9)
            user, _created = User.objects.get_or_create(username=email.split("@")[0], defaults={"email": email})
            user.set_password(password)
            user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            services.profile_create(user=user, country=country, centre=centres.get(country))
            services.role_assign(user=user, role=role, analyst_countries=analyst_countries)
            note = "  (two-factor set-up is asked at first login)" if role != Role.LEARNER else ""
            self.stdout.write(f"  {role.label:<17} {email:<26} password: {password}{note}")
