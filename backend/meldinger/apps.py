from django.apps import AppConfig


class MeldingerConfig(AppConfig):
    name = "meldinger"
    verbose_name = "Meldinger"
