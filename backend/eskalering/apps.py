from django.apps import AppConfig


class EskaleringConfig(AppConfig):
    name = "eskalering"
    verbose_name = "Eskalering"
