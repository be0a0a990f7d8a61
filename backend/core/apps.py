from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Imported here, once the app registry is ready; the import registers the checks.
        from backend.core import checks  # noqa: F401, PLC0415
