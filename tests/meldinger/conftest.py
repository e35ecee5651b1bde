import datetime as dt

import pytest
from django.utils import timezone
from meldinger.services import Composed, queue_message

from maler.services import load_seed_templates
from tests.factories import ContactFactory, InquiryFactory, PatientFactory


@pytest.fixture(autouse=True)
def templates(db):
    load_seed_templates()


@pytest.fixture
def patient(section):
    return PatientFactory(section=section, first_name="Emma", birth_date=dt.date(2017, 3, 14))


@pytest.fixture
def mother(patient):
    return ContactFactory(patient=patient, phone="+4791000001", language="nb", sms_consent=True)


@pytest.fixture
def inquiry(section, patient, mother):
    """A phone inquiry from Emma's mother (consent to SMS recorded)."""
    return InquiryFactory(
        section=section, patient=patient, contact=mother, caller_phone=mother.phone
    )


@pytest.fixture
def queued(section, mother):
    """A reply stored as queued. Its hand-over to a worker runs on commit, so in a test
    inside one transaction (the default) the task has not run."""

    def make(text="Timen er flyttet til fredag.", key="k1", contact=None):
        contact = contact or mother
        return queue_message(
            section=section,
            kind="reply",
            to_phone=contact.phone,
            composed=Composed(text, text, False, None, None),
            language="nb",
            now=timezone.now(),
            idempotency_key=key,
            contact=contact,
        )

    return make


@pytest.fixture
def reply(api_as, coordinator, inquiry):
    """POST a reply on `inquiry` as the coordinator."""

    def post(payload, *, key=None, target=None, user=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return api_as(user or coordinator).post(
            f"/api/inquiries/{(target or inquiry).pk}/replies/", payload, format="json", **headers
        )

    return post


CALLBACK_BLODPROVER = {
    "template": "blodprover_fine",
    "language": "nb",
    "variables": {"dato": "3. desember", "klokkeslett": "09:30"},
}
