import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from backend.accounts import services
from backend.accounts.models import User, normalize_email


class Command(BaseCommand):
    help = "Create a therapist account (clinic admins only). Prompts for the password unless --no-password."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", required=True, help="Display name shown to patients.")
        parser.add_argument(
            "--time-zone", default=None, help="IANA time zone, e.g. America/Chicago."
        )
        parser.add_argument(
            "--no-password",
            action="store_true",
            help="Create without a usable password; the therapist sets one with a password reset.",
        )

    def handle(self, *args, email, name, time_zone, no_password, **options):
        if User.objects.filter(email=normalize_email(email)).exists():
            raise CommandError("An account with this email already exists.")
        password = None
        if not no_password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            user = services.therapist_create(
                email=email, display_name=name, password=password, time_zone=time_zone
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created therapist {user.email} ({user.pk})."))
