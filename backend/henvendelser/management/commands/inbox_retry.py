"""Put texts the workers set aside back in the inbox, once what made them fail is fixed.

    cd backend && ../.venv/bin/python manage.py inbox_retry [--section ID]

A text is set aside after INBOX_MAX_ATTEMPTS failed attempts to put it on an inquiry
(services/inbox.py); /metrics counts them in `kontaktpunkt_inbox_set_aside`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from henvendelser.services import inbox


class Command(BaseCommand):
    help = "Put set-aside inbound texts back for the workers to try again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--section", type=int, default=None, help="only this section's")

    def handle(self, *args: Any, **options: Any) -> None:
        count = inbox.retry_set_aside(options["section"])
        self.stdout.write(f"{count} text(s) back in the inbox")
