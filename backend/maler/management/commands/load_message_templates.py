from typing import Any

from django.core.management.base import BaseCommand

from maler.services import load_seed_templates


class Command(BaseCommand):
    help = "Load the seed message templates (nb, nn, en); existing ones are left as they are."

    def handle(self, *args: Any, **options: Any) -> None:
        count = load_seed_templates()
        self.stdout.write(f"{count} template versions published")
