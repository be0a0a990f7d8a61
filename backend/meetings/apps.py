from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "backend.meetings"
    label = "meetings"
    verbose_name = "Support-group meetings"
