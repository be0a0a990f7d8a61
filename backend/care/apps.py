from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "backend.care"
    label = "care"
    verbose_name = "Care team"
