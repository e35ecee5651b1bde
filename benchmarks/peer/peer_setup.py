"""Run inside the peer's virtualenv: a staff user with a token and one queue. Prints
`token queue_id`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

user = User.objects.create_superuser("peer", "peer@example.test", "peer-password")
queue = Queue.objects.create(title="Kontaktpunkt", slug="kp", email_address="kp@example.test")
print(Token.objects.create(user=user).key, queue.pk)
