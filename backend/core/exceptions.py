"""Domain errors. Services raise these; core.errors maps them to the API's error shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal a user can act on. `code` is stable; `message` is Norwegian for the UI."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class AlreadyClaimed(DomainError):
    code = "already_claimed"
    status = 409


class NotClaimant(DomainError):
    code = "not_claimant"
    status = 409


class NotAllowed(DomainError):
    code = "permission_denied"
    status = 403


class NoDoctorAvailable(DomainError):
    code = "no_doctor_available"
    status = 409


class AlreadyEscalated(DomainError):
    code = "already_escalated"
    status = 409


class PlanExists(DomainError):
    code = "plan_exists"
    status = 409


class NotSetAside(DomainError):
    """A text the workers still try: it reaches the queue on its own."""

    code = "not_set_aside"
    status = 409


class InvalidInput(DomainError):
    code = "validation_error"
    status = 400
