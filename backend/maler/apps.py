from django.apps import AppConfig


class MalerConfig(AppConfig):
    name = "maler"
    verbose_name = "Meldingsmaler"
