"""The audit log: who read or changed which patient's data, when, and from where.

Services call `record(...)` inside their transaction, so an audit row exists exactly when the
change does. Reads are recorded by the views and consumers that hand patient data out.
The request's origin (address, channel) is carried in a context variable set by middleware, so
services need not take a request argument.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import AuditEvent


@dataclass(frozen=True)
class Origin:
    channel: str
    ip: str | None = None


# Origin is a frozen dataclass, so sharing the default instance is safe.
_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar(
    "audit_origin",
    default=Origin(channel="system"),  # noqa: B039
)


def client_ip(request: HttpRequest) -> str | None:
    """The peer's address. Behind TRUSTED_PROXY_COUNT proxies, the address the nearest of them
    saw (X-Forwarded-For counted from the right, as DRF's NUM_PROXIES does); a client's own
    X-Forwarded-For is never believed without a proxy in front."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith("/api/"):
            channel = "api"
        elif path.startswith("/webhooks/"):
            channel = "webhook"
        elif path.startswith("/admin/"):
            channel = "admin"
        else:
            channel = "page"
        token = _origin.set(Origin(channel=channel, ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


class origin_as:
    """Set the audit origin for code outside a request (websocket consumers, tasks)."""

    def __init__(self, channel: str, ip: str | None = None) -> None:
        self.origin = Origin(channel=channel, ip=ip)
        self.token: contextvars.Token[Origin] | None = None

    def __enter__(self) -> Origin:
        self.token = _origin.set(self.origin)
        return self.origin

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _origin.reset(self.token)


def current_origin() -> Origin:
    return _origin.get()


def _event(
    *,
    user: Any,
    action: str,
    obj: Any = None,
    patient_id: int | None = None,
    section_id: int | None = None,
    detail: dict[str, Any] | None = None,
    origin: Origin,
    at: Any,
) -> AuditEvent:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEvent(
        at=at,
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        section_id=section_id,
        channel=origin.channel,
        ip=origin.ip,
        detail=detail or {},
    )


def record(
    *,
    user: Any,
    action: str,
    obj: Any = None,
    patient_id: int | None = None,
    section_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit record. `detail` must hold ids and codes only, never personal data."""
    event = _event(
        user=user,
        action=action,
        obj=obj,
        patient_id=patient_id,
        section_id=section_id,
        detail=detail,
        origin=current_origin(),
        at=timezone.now(),
    )
    event.save()
    return event


def record_reads(
    *,
    user: Any,
    action: str,
    objects: Iterable[Any],
    patient_of: Callable[[Any], int | None],
    section_of: Callable[[Any], int | None],
) -> int:
    """Record one read per object that carries patient data (a list counts every row shown)."""
    origin = current_origin()
    now = timezone.now()
    events = [
        _event(
            user=user,
            action=action,
            obj=obj,
            patient_id=patient_of(obj),
            section_id=section_of(obj),
            origin=origin,
            at=now,
        )
        for obj in objects
    ]
    AuditEvent.objects.bulk_create(events)
    return len(events)
