from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Kjerne"

    def ready(self) -> None:
        from . import checks, lockout, signals  # noqa: F401 - registers checks and receivers
