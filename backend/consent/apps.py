from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "backend.consent"
    label = "consent"
    verbose_name = "Consent and disclosures"
