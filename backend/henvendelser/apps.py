from django.apps import AppConfig


class HenvendelserConfig(AppConfig):
    name = "henvendelser"
    verbose_name = "Henvendelser"
