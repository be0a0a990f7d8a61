from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "backend.family"
    label = "family"
    verbose_name = "Family and friends"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (models cannot load earlier).
        # consent sits below family and so cannot read its links: it is told the rule instead.
        from backend.accounts.models import User  # noqa: PLC0415
        from backend.consent.services import link_rule_register  # noqa: PLC0415
        from backend.family.selectors import is_linked_pair  # noqa: PLC0415

        link_rule_register(role=User.Role.FAMILY, rule=is_linked_pair)
