"""When someone's access ends (logout, deactivation, a membership or role taken away), their
open sockets are told at once (core.ws.GuardedConsumer closes them with 4401 or 4403)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import Membership
from .ws import CLOSE_UNAUTHENTICATED, user_group

logger = logging.getLogger(__name__)

RECHECK = 0  # not a close code: "look again now"


def tell_sockets(user_id: int, code: int = RECHECK) -> None:
    """After commit, tell the user's sockets (a channel layer that is down must not fail the
    write: the sockets look again within core.ws.ACCESS_TTL_SECONDS anyway)."""
    transaction.on_commit(partial(_send, user_id, code), robust=True)


def _send(user_id: int, code: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            user_group(user_id), {"type": "access.changed", "code": code}
        )
    except Exception:
        logger.warning("could not tell user %s's sockets; they re-check on their own", user_id)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        tell_sockets(user.pk, CLOSE_UNAUTHENTICATED)


@receiver(post_save, sender=get_user_model())
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        tell_sockets(instance.pk, CLOSE_UNAUTHENTICATED)


@receiver(post_delete, sender=Membership)
def _membership_removed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    tell_sockets(instance.user_id)


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _roles_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_remove", "post_clear") and isinstance(instance, get_user_model()):
        tell_sockets(instance.pk)
