"""Services: every write to inquiries, patients and contacts goes through these functions."""

from .inquiries import (
    add_note,
    claim_inquiry,
    close_inquiry,
    link_patient,
    log_inquiry,
    release_inquiry,
)
from .intake import (
    IntakeResult,
    attach_voicemail,
    receive_call,
    receive_sms,
    record_dial_outcome,
    update_call_status,
)
from .patients import add_contact, create_patient, update_contact, update_patient

__all__ = [
    "IntakeResult",
    "add_contact",
    "add_note",
    "attach_voicemail",
    "claim_inquiry",
    "close_inquiry",
    "create_patient",
    "link_patient",
    "log_inquiry",
    "receive_call",
    "receive_sms",
    "record_dial_outcome",
    "release_inquiry",
    "update_call_status",
    "update_contact",
    "update_patient",
]
