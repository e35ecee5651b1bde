"""Brute force: a per-address limit on logins (page and token alike), and an account locked
after LOGIN_MAX_FAILURES failed passwords in a row, until a lead unlocks it (audited)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from . import access, audit
from .models import AccountLock

logger = logging.getLogger(__name__)


def too_many_attempts(request: HttpRequest, scope: str) -> bool:
    """Count a login attempt from this address; True once it is over LOGIN_RATE_PER_MINUTE.
    A cache that is down lets the attempt through: the account lock still holds."""
    key = f"login-rate:{scope}:{audit.client_ip(request)}"
    try:
        if cache.add(key, 1, timeout=60):
            return False
        return int(cache.incr(key)) > settings.LOGIN_RATE_PER_MINUTE
    except Exception:
        logger.warning("login rate limit unavailable (cache down); the account lock still holds")
        return False


def is_locked(user: Any) -> bool:
    return AccountLock.objects.filter(user=user, locked_at__isnull=False).exists()


class LockoutBackend(ModelBackend):
    """Django's password check, refusing a locked account; a success clears the count."""

    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and not is_locked(user)

    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kw: Any
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kw)
        if user is not None:
            AccountLock.objects.filter(user=user, failures__gt=0).update(failures=0)
        return user


@receiver(user_login_failed)
def _failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return
    now = timezone.now()
    with transaction.atomic():
        lock, _ = AccountLock.objects.select_for_update().get_or_create(user=user)
        lock.failures += 1
        lock.last_failed_at = now
        newly_locked = lock.locked_at is None and lock.failures >= settings.LOGIN_MAX_FAILURES
        if newly_locked:
            lock.locked_at = now
        lock.save()
        if newly_locked:
            _recorded(user=None, action="account.locked", account=user, failures=lock.failures)


def colleagues(lead: Any) -> Any:
    """The accounts a lead may unlock: everyone in one of the lead's sections."""
    sections = access.sections(lead)
    return get_user_model().objects.filter(memberships__section_id__in=sections).distinct()


def locked_colleagues(lead: Any) -> list[AccountLock]:
    """The locks a lead may lift, the longest-standing first, each with its user."""
    return list(
        AccountLock.objects.filter(locked_at__isnull=False, user__in=colleagues(lead))
        .select_related("user")
        .order_by("locked_at", "pk")
    )


def unlock(*, user: Any, by: Any) -> None:
    """A lead lifts the lock (and the count), audited."""
    with transaction.atomic():
        changed = AccountLock.objects.filter(user=user).update(failures=0, locked_at=None)
        _recorded(user=by, action="account.unlocked", account=user, was_locked=bool(changed))


def _recorded(*, user: Any, action: str, account: Any, **detail: Any) -> None:
    """An account's lock or unlock, in the log of each of the account's sections, where its
    leads' reads of the log find it (one INSERT)."""
    with audit.recorded_together():
        for section_id in audit.logs_of(access.sections(account)):
            audit.record(
                user=user, action=action, obj=account, section_id=section_id, detail=detail
            )
