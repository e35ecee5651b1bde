"""The coordinator's page without traps (issue 10), in Chromium: what matters is at the top,
buttons follow what the server allows, a double click does a thing once, errors stand beside
the action, and the roster is Oslo time in and out whatever the browser's zone."""

import datetime as dt

import pytest
from django.utils import timezone
from meldinger.models import Message
from playwright.sync_api import expect

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


def coordinator_page(browser, daphne, user, inquiry, **context_args):
    context = browser.new_context(locale="nb-NO", **context_args)
    page = context.new_page()
    login(page, daphne.base_url, user.username)
    page.goto(f"{daphne.base_url}/henvendelser/{inquiry.pk}/")
    return context, page


def test_an_alarm_text_is_the_first_thing_on_the_page_and_triage_shows_no_early_grade(
    daphne, browser
):
    from henvendelser.services.intake import receive_sms

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    result = receive_sms(
        message_sid="SM" + "a" * 32,
        from_phone="+4791234567",
        to_phone=section.phone_number,
        body="39 i feber og blør fra nesen",
    )
    context, page = coordinator_page(browser, daphne, kari, result.inquiry)
    top = page.locator("#latest-inbound")
    expect(top).to_contain_text("39 i feber og blør fra nesen")
    expect(top).to_contain_text("Alarmord: feber")
    expect(top).to_contain_text("blødning")
    expect(page.locator("#inq-meta")).to_contain_text("Mulig rød")
    # Above the fold: the family's words are in view without scrolling.
    box = top.bounding_box()
    assert box is not None and box["y"] + box["height"] < page.viewport_size["height"]
    # The red banner offers the doctor: the text is a possible red nobody has taken to one.
    expect(page.locator("#red-banner")).to_be_visible()
    page.click("#triage summary")
    expect(page.locator("#triage-result")).to_contain_text("Ingen grad ennå")
    expect(page.locator("#triage-result")).not_to_contain_text("Grønn")
    expect(page.locator("#triage-form button[type=submit]")).to_be_disabled()
    context.close()


def test_a_double_click_on_send_sms_sends_one_and_free_text_hides_with_a_template(daphne, browser):
    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    patient = PatientFactory(section=section)
    mother = ContactFactory(patient=patient, phone="+4791000002", sms_consent=True)
    inquiry = InquiryFactory(
        section=section,
        patient=patient,
        contact=mother,
        caller_phone=mother.phone,
        claimed_by=kari,
        status="in_progress",
    )
    context, page = coordinator_page(browser, daphne, kari, inquiry)
    text = page.locator("#reply-text")
    text.fill("a" * 1601)
    expect(page.locator("#reply-refusal")).to_contain_text("Teksten er for lang")
    expect(page.locator("#reply-send")).to_be_disabled()

    text.fill("Timen er flyttet til fredag kl. 10.")
    expect(page.locator("#reply-counter")).to_contain_text("1 SMS")
    expect(page.locator("#reply-send")).to_be_enabled()
    page.locator("#reply-send").dblclick()
    expect(page.locator("#messages li.message")).to_have_count(1)
    page.wait_for_timeout(500)  # let a second request, if one went, land
    assert Message.objects.filter(inquiry=inquiry).count() == 1

    # With a template picked the free-text box goes away (it would not be sent).
    page.select_option("#reply-template", "blodprover_fine")
    expect(page.locator("#reply-text")).to_be_hidden()
    page.select_option("#reply-template", "")
    expect(page.locator("#reply-text")).to_be_visible()
    context.close()


def test_a_red_inquiry_already_answered_by_sms_can_still_go_to_a_doctor(daphne, browser):
    from eskalering.models import RosterShift

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    lars = UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    now = timezone.now()
    RosterShift.objects.create(
        section=section,
        role="ward_doctor",
        doctor=lars,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=8),
    )
    inquiry = InquiryFactory(section=section, grade="red", status="answered", claimed_by=kari)
    context, page = coordinator_page(browser, daphne, kari, inquiry)
    expect(page.locator("#red-banner")).to_be_visible()
    page.click("#escalate-now")
    page.fill("#escalate-form textarea[name=question]", "Feber igjen etter svar. Inn?")
    page.locator("#escalate-form button[type=submit]").dblclick()
    expect(page.locator("#escalation-box")).to_contain_text("Lars Lege")
    expect(page.locator("#red-banner")).to_be_hidden()
    expect(page.locator("#escalate")).to_be_hidden()
    assert inquiry.escalations.count() == 1
    context.close()


def test_the_roster_is_oslo_time_in_and_out_and_a_shift_can_be_removed(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    lead = UserFactory(role="lead", sections=[section])
    UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    # A browser in New York: what the lead types and reads is still Oslo time.
    context = browser.new_context(locale="nb-NO", timezone_id="America/New_York")
    page = context.new_page()
    login(page, daphne.base_url, lead.username)
    page.goto(daphne.base_url + "/vaktplan/")
    today = timezone.localdate().isoformat()
    page.select_option("#shift-form select[name=role]", "ward_doctor")
    page.select_option("#doctor-select", label="Lars Lege")
    page.fill("#shift-form input[name=starts_at]", f"{today}T08:00")
    page.fill("#shift-form input[name=ends_at]", f"{today}T16:00")
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#roster-body")).to_contain_text("Lars Lege 08:00\u201316:00")
    from eskalering.models import RosterShift

    shift = RosterShift.objects.get()
    assert timezone.localtime(shift.starts_at).hour == 8  # Oslo

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#roster-body .shift button").click()
    expect(page.locator("#roster-body .shift")).to_have_count(0)
    assert not RosterShift.objects.exists()
    context.close()


def test_a_locked_secure_link_is_sent_again_once_from_the_page(daphne, browser):
    from meldinger import services as messages
    from meldinger.models import SecureLink

    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    patient = PatientFactory(section=section)
    mother = ContactFactory(patient=patient, phone="+4791000007", sms_consent=True)
    inquiry = InquiryFactory(
        section=section, patient=patient, contact=mother, caller_phone=mother.phone
    )
    first, _ = messages.create_reply(
        inquiry_id=inquiry.pk,
        by=kari,
        template="provesvar_klare",
        variables={"dato": "1. desember", "svar": "Fine svar.", "telefon": "55000000"},
        idempotency_key="e2e-1",
    )
    SecureLink.objects.filter(message=first).update(locked_at=timezone.now())

    context, page = coordinator_page(browser, daphne, kari, inquiry)
    row = page.locator(f"li[data-message-id='{first.pk}']")
    expect(row).to_contain_text("sperret")
    row.get_by_role("button", name="Send ny lenke").dblclick()
    expect(page.locator("#messages li.message")).to_have_count(2)
    page.reload()
    expect(page.locator("#messages li.message")).to_have_count(2)
    assert Message.objects.filter(inquiry=inquiry).count() == 2
    # The new link is usable and the locked one has been sent again: no button left.
    expect(page.get_by_role("button", name="Send ny lenke")).to_have_count(0)
    context.close()
