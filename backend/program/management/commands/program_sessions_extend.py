from django.core.management.base import BaseCommand

from backend.program.services import programs_extend


class Command(BaseCommand):
    help = (
        "Make every program's sessions up to its horizon (its end, else 12 weeks ahead). "
        "Idempotent; the scheduler runs it daily."
    )

    def handle(self, *args, **options):
        made = programs_extend()
        self.stdout.write(f"{made} sessions made.")
