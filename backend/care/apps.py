from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "backend.care"
    label = "care"
    verbose_name = "Care team"

    def ready(self) -> None:
        # consent sits below care and so cannot read its links: it is told the rule instead.
        from backend.accounts.models import User
        from backend.care.selectors import is_linked_pair
        from backend.consent.services import link_rule_register

        link_rule_register(role=User.Role.THERAPIST, rule=is_linked_pair)
