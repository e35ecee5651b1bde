from django.apps import AppConfig


class StatistikkConfig(AppConfig):
    name = "statistikk"
    verbose_name = "Statistikk"
