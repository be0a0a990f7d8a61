from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "backend.journal"
    label = "journal"
    verbose_name = "Journal"
