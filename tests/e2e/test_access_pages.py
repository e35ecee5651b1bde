"""Pages follow the access module, in Chromium: the secretary's inquiry page offers only the
practical templates and shows no clinical content; the coordinator links an unknown number to
a patient; someone in two sections picks the queue they watch."""

import pytest
from playwright.sync_api import expect

from henvendelser.models import Contact
from maler.services import load_seed_templates
from tests.e2e.conftest import login
from tests.factories import (
    ALWAYS_OPEN,
    ContactFactory,
    InquiryFactory,
    PatientFactory,
    SectionFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e]


def open_page(browser, daphne, user, path, lands_on="/", **context_args):
    context = browser.new_context(locale="nb-NO", **context_args)
    page = context.new_page()
    login(page, daphne.base_url, user.username, lands_on=lands_on)
    page.goto(daphne.base_url + path)
    return context, page


def test_the_secretary_gets_practical_templates_and_no_clinical_content(daphne, browser):
    from eskalering import services as escalations

    from tests.eskalering.conftest import on_shift
    from triage import services as triage

    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    lege = UserFactory(role="doctor", sections=[section])
    sara = UserFactory(role="secretary", sections=[section], first_name="Sara")
    on_shift(section, lege, "ward_doctor")
    patient = PatientFactory(section=section, first_name="Emma")
    mother = ContactFactory(patient=patient, phone="+4791000005", sms_consent=True)
    inquiry = InquiryFactory(
        section=section, patient=patient, contact=mother, caller_phone=mother.phone
    )
    triage.assess_inquiry(
        inquiry_id=inquiry.pk, by=kari, inputs={"temperature_c": 38.9, "on_active_treatment": True}
    )
    escalation = escalations.escalate_inquiry(
        inquiry_id=inquiry.pk, by=kari, target="ward_doctor", question="Nøytrofile i går?"
    )
    escalations.answer_escalation(escalation_id=escalation.pk, by=lege, answer="Kom inn nå.")

    context, page = open_page(browser, daphne, sara, f"/henvendelser/{inquiry.pk}/")
    expect(page.locator("#timeline")).to_contain_text("Medisinsk innhold vises ikke")
    expect(page.locator("#timeline")).not_to_contain_text("Nøytrofile")
    expect(page.locator("#doctor-answer")).to_be_hidden()
    expect(page.locator("#triage")).to_have_count(0)
    expect(page.locator("#escalate")).to_have_count(0)
    picker = page.locator("#reply-template")
    expect(picker.locator("option[value=timepaaminnelse]")).to_have_count(1)
    expect(picker.locator("option[value=blodprover_fine]")).to_have_count(0)
    expect(picker.locator("option[value='']")).to_have_count(0)  # no free text
    expect(page.locator("#reply-text-label")).to_be_hidden()
    context.close()

    context, page = open_page(browser, daphne, kari, f"/henvendelser/{inquiry.pk}/")
    expect(page.locator("#doctor-answer")).to_contain_text("Kom inn nå.")
    expect(page.locator("#timeline")).to_contain_text("Nøytrofile i går?")
    context.close()


def test_the_coordinator_links_an_unknown_number_to_a_patient(daphne, browser):
    from henvendelser.services.intake import receive_sms

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    emma = PatientFactory(section=section, first_name="Emma", last_name="Berg")
    PatientFactory(section=section, first_name="Jonas", last_name="Lie")
    result = receive_sms(
        message_sid="SM" + "e" * 32,
        from_phone="+4798000111",
        to_phone=section.phone_number,
        body="Hei, dette er faren til Emma, ny telefon",
    )
    context, page = open_page(browser, daphne, kari, f"/henvendelser/{result.inquiry.pk}/")
    box = page.locator("#link-patient")
    expect(box).to_be_visible()
    box.locator("summary").click()
    box.locator("input[name=patient_search]").fill("Emma Berg")
    expect(box.locator("select[name=patient_choice]")).to_have_value(str(emma.pk))
    box.locator("input[name=save_number]").check()
    box.locator("input[name=contact_name]").fill("Per Berg")
    box.locator("input[name=relation]").fill("far")
    box.locator("button[type=submit]").dblclick()
    expect(page.locator("#inq-title")).to_contain_text("Emma")
    expect(box).to_be_hidden()
    expect(page.locator("#timeline")).to_contain_text("Koblet til pasient")
    page.reload()
    expect(page.locator("#inq-title")).to_contain_text("Emma")
    assert Contact.objects.filter(phone="+4798000111", patient=emma).count() == 1
    context.close()


def test_someone_in_two_sections_picks_the_queue_and_the_socket_follows(daphne, browser):
    north = SectionFactory(opening_hours=ALWAYS_OPEN, name="A Nord")
    south = SectionFactory(opening_hours=ALWAYS_OPEN, name="B Sør")
    both = UserFactory(role="coordinator", sections=[north, south])
    InquiryFactory(section=north, caller_name="Nordfamilien")
    InquiryFactory(section=south, caller_name="Sørfamilien")
    context, page = open_page(browser, daphne, both, "/", lands_on=f"/?section={north.pk}")
    expect(page.locator(".queue-table")).to_contain_text("Nordfamilien")
    expect(page.locator(".queue-table")).not_to_contain_text("Sørfamilien")
    page.select_option("#section-picker", str(south.pk))
    expect(page.locator(".queue-table")).to_contain_text("Sørfamilien")
    expect(page.locator(".queue-table")).not_to_contain_text("Nordfamilien")
    assert page.url.endswith(f"/?section={south.pk}")
    context.close()
