from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "backend.exchange"
    label = "exchange"
    verbose_name = "Exchange with health records (FHIR)"
