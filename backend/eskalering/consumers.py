"""`ws/doctor/`: a doctor's open escalations, live (DESIGN.md §8). On connect, and on `resync`,
the doctor gets a fresh snapshot; then `escalation.created` / `escalation.updated` events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from core import access, audit, realtime
from core.access import Action
from core.ws import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, GuardedConsumer

from .models import Escalation
from .serializers import EscalationSerializer
from .services import OPEN_STATES


@database_sync_to_async
def _is_doctor(user: Any) -> bool:
    return access.may(user, Action.ANSWER_ESCALATION)


@database_sync_to_async
def _snapshot(user: Any, ip: str | None) -> dict[str, Any]:
    sections = access.sections(user)
    seq = max((realtime.current_seq(s) for s in sections), default=0)
    escalations = list(
        Escalation.objects.filter(doctor=user, state__in=OPEN_STATES, section_id__in=sections)
        .select_related("doctor", "created_by", "inquiry", "inquiry__contact")
        .order_by("acknowledge_due_at", "pk")
    )
    with audit.origin_as("ws", ip):
        audit.record_reads(
            user=user,
            action="escalation.snapshot",
            objects=[e.inquiry for e in escalations],
            patient_of=lambda i: i.patient_id,
            section_of=lambda i: i.section_id,
        )
    return {
        "type": "snapshot",
        "seq": seq,
        "escalations": EscalationSerializer(escalations, many=True).data,
    }


def _pushed_row(event: dict[str, Any]) -> tuple[Any, int | None, int | None]:
    """(escalation id, patient id, section id) of an escalation event, for the audit log."""
    row = event.get("escalation") or {}
    patient = ((row.get("context") or {}).get("patient") or {}).get("id")
    return row.get("id"), patient, row.get("section")


class DoctorConsumer(GuardedConsumer):
    action = Action.ANSWER_ESCALATION
    group: str

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await _is_doctor(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.ip = (self.scope.get("client") or [None])[0]
        self.group = realtime.doctor_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.start_guard()
        await self.send_json(await _snapshot(user, self.ip))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.stop_guard()
            await audit.pushed_reads.flush()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resync":
            await self.send_json(await _snapshot(self.user, self.ip))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type"})

    async def queue_event(self, message: dict[str, Any]) -> None:
        await self.push_event(
            message,
            action="escalation.event",
            object_type="escalation",
            rows=[_pushed_row(message["event"])],
        )
