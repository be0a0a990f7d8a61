from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "backend.program"
    label = "program"
    verbose_name = "IOP program"
