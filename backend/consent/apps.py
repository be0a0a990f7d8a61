from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "backend.consent"
    label = "consent"
    verbose_name = "Consent and the access policy"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (models cannot load earlier).
        # accounts sits below consent: a closed account's grants are revoked on its signal.
        from backend.accounts.signals import account_closed  # noqa: PLC0415
        from backend.consent import receivers  # noqa: PLC0415

        account_closed.connect(receivers.account_closed, dispatch_uid="consent.account_closed")
