from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "backend.measures"
    label = "measures"
    verbose_name = "Measures"
