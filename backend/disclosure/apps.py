from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "backend.disclosure"
    label = "disclosure"
    verbose_name = "Disclosure log"
