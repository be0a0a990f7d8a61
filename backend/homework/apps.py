from django.apps import AppConfig


class HomeworkConfig(AppConfig):
    name = "backend.homework"
    label = "homework"
    verbose_name = "Homework"
