from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "backend.care"
    label = "care"
    verbose_name = "Care team"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (models cannot load earlier).
        # consent sits below care and so cannot read its links: it is told the rule instead.
        from backend.accounts.models import User  # noqa: PLC0415
        from backend.care.selectors import is_linked_pair  # noqa: PLC0415
        from backend.consent.services import link_rule_register  # noqa: PLC0415

        link_rule_register(role=User.Role.THERAPIST, rule=is_linked_pair)
