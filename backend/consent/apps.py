from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "backend.consent"
    label = "consent"
    verbose_name = "Consent and the access policy"

    def ready(self) -> None:
        # accounts sits below consent: a closed account's grants are revoked on its signal.
        from backend.accounts.signals import account_closed
        from backend.consent import receivers

        account_closed.connect(receivers.account_closed, dispatch_uid="consent.account_closed")
