from django.apps import AppConfig


class CopingConfig(AppConfig):
    name = "backend.coping"
    label = "coping"
    verbose_name = "Coping skills, checklists and relapse-prevention plans"
