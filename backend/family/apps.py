from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "backend.family"
    label = "family"
    verbose_name = "Family and friends"
