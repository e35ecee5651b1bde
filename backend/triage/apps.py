from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Triage"

    def ready(self) -> None:
        from core.startup import prepare_before_serving

        from .alarm import prepare

        prepare_before_serving(prepare)
