from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demo data for a laptop try-out (seed_demo); it sits above every other app."""

    name = "backend.demo"
    label = "demo"
    verbose_name = "Demo data"
