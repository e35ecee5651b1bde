"""Two browsers: the coordinator escalates, the doctor's page shows it without reload, the
doctor answers, and the coordinator's page shows the answer without reload."""

import pytest
from playwright.sync_api import expect

from core.models import UserProfile
from tests.e2e.conftest import login
from tests.eskalering.conftest import on_shift
from tests.factories import ALWAYS_OPEN, InquiryFactory, PatientFactory, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def test_escalate_answer_and_relay_without_reloads(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(
        role="coordinator", sections=[section], first_name="Kari", last_name="Nordmann"
    )
    lars = UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    UserProfile.objects.create(user=lars, phone="+4790000101")
    on_shift(section, lars, "ward_doctor")
    inquiry = InquiryFactory(
        section=section,
        grade="red",
        status="in_progress",
        claimed_by=kari,
        summary="Feber 38,6 etter kur",
        patient=PatientFactory(
            section=section, first_name="Emma", last_name="Johansen", diagnosis="ALL"
        ),
    )

    doctor_context = browser.new_context(locale="nb-NO")
    doctor = doctor_context.new_page()
    login(doctor, daphne.base_url, lars.username, lands_on="/lege/")
    expect(doctor.locator("#esc-count")).to_have_text("(0)")
    doctor.evaluate("window.__notReloaded = true")

    coordinator_context = browser.new_context(locale="nb-NO")
    page = coordinator_context.new_page()
    login(page, daphne.base_url, kari.username)
    page.goto(f"{daphne.base_url}/henvendelser/{inquiry.pk}/")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#red-banner")).to_be_visible()
    page.click("#escalate-now")
    page.fill("#escalate-form textarea[name=question]", "Dag 5 etter kur, 38,6. Inn nå?")
    page.click("#escalate-form button[type=submit]")
    expect(page.locator("#escalation-box")).to_contain_text("Lars Lege")
    expect(page.locator("#escalation-box")).to_contain_text("sendt, ikke sett")

    card = doctor.locator(".esc-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Emma Johansen")
    expect(card).to_contain_text("Dag 5 etter kur, 38,6. Inn nå?")
    card.locator("button.acknowledge").click()
    expect(page.locator("#escalation-box")).to_contain_text("sett av lege")

    card = doctor.locator(".esc-card")
    card.locator("textarea[name=answer]").fill("Kom inn nå for blodkultur og antibiotika.")
    card.locator("input[name=patient_must_come_in]").check()
    card.locator("button[type=submit]").click()
    expect(doctor.locator("#esc-count")).to_have_text("(0)")

    expect(page.locator("#timeline")).to_contain_text("Kom inn nå for blodkultur og antibiotika.")
    expect(page.locator("#inq-meta")).to_contain_text("Under arbeid")
    # The answer stands at the top of the page, the waiting box and the red banner are gone.
    expect(page.locator("#doctor-answer")).to_contain_text("Pasienten må komme inn")
    expect(page.locator("#doctor-answer")).to_contain_text("Kom inn nå for blodkultur")
    expect(page.locator("#escalation-box")).to_be_hidden()
    expect(page.locator("#red-banner")).to_be_hidden()
    assert page.evaluate("window.__notReloaded") is True
    assert doctor.evaluate("window.__notReloaded") is True
    coordinator_context.close()
    doctor_context.close()


def test_a_doctor_sends_an_escalation_on_to_a_colleague_without_reloads(daphne, browser):
    from eskalering.services import escalate_inquiry

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section], first_name="Kari", last_name="N")
    lars = UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    siri = UserFactory(role="doctor", sections=[section], first_name="Siri", last_name="Kirurg")
    on_shift(section, lars, "ward_doctor")
    inquiry = InquiryFactory(
        section=section,
        grade="amber",
        status="in_progress",
        claimed_by=kari,
        patient=PatientFactory(section=section, first_name="Emma", last_name="Johansen"),
    )

    # Made in this process, before the pages open: its broadcast would not reach the server's
    # in-memory channel layer. What is tested live is the hand-over between the two pages.
    escalate_inquiry(
        inquiry_id=inquiry.pk, by=kari, target="ward_doctor", question="Vondt ved CVK. Se på?"
    )
    pages = {}
    contexts = []
    for doctor in (lars, siri):
        context = browser.new_context(locale="nb-NO")
        contexts.append(context)
        page = context.new_page()
        login(page, daphne.base_url, doctor.username, lands_on="/lege/")
        page.evaluate("window.__notReloaded = true")
        pages[doctor.first_name] = page
    lars_page, siri_page = pages["Lars"], pages["Siri"]

    card = lars_page.locator(".esc-card")
    expect(card).to_have_count(1)
    expect(siri_page.locator("#esc-count")).to_have_text("(0)")

    # Sending on without choosing anybody is refused on the page, in words.
    card.locator("form.reassign button[type=submit]").click()
    # The refusal stands beside the button that was pressed, not at the top of the page.
    expect(card.locator("form.reassign .form-error")).to_have_text("Velg legen som skal ta over.")
    # The list offers colleagues, not the doctor himself.
    options = card.locator("select[name=doctor] option").all_text_contents()
    assert "Siri Kirurg" in options and "Lars Lege" not in options

    card.locator("select[name=doctor]").select_option(label="Siri Kirurg")
    card.locator("form.reassign button[type=submit]").click()
    expect(lars_page.locator("#esc-count")).to_have_text("(0)")

    moved = siri_page.locator(".esc-card")
    expect(moved).to_have_count(1)
    expect(moved).to_contain_text("Vondt ved CVK. Se på?")
    expect(moved).to_contain_text("sendt, ikke sett")
    assert lars_page.evaluate("window.__notReloaded") is True
    assert siri_page.evaluate("window.__notReloaded") is True
    for context in contexts:
        context.close()
