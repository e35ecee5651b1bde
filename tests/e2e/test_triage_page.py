"""Triage in the browser: the form grades as the nurse types, and the queue of another
coordinator reorders without a reload."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import ALWAYS_OPEN, InquiryFactory, PatientFactory, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def test_38_5_on_chemo_shows_red_with_the_reason_and_tops_another_coordinators_queue(
    daphne, browser
):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(
        role="coordinator", sections=[section], first_name="Kari", last_name="Nordmann"
    )
    ola = UserFactory(role="coordinator", sections=[section], first_name="Ola", last_name="Hansen")
    InquiryFactory(section=section, grade="amber", summary="Spør om kvalme")
    child = InquiryFactory(
        section=section,
        summary="Feber etter kur",
        patient=PatientFactory(section=section, first_name="Emma", last_name="Johansen"),
    )

    ola_context = browser.new_context(locale="nb-NO")
    ola_page = ola_context.new_page()
    login(ola_page, daphne.base_url, ola.username)
    first_row = ola_page.locator("#queue-body tr.row").first
    expect(first_row).to_contain_text("Spør om kvalme")

    kari_context = browser.new_context(locale="nb-NO")
    page = kari_context.new_page()
    login(page, daphne.base_url, kari.username)
    page.goto(f"{daphne.base_url}/henvendelser/{child.pk}/")
    page.click("#triage summary")
    expect(page.locator("input[name=on_active_treatment]")).to_be_checked()
    page.fill("input[name=temperature_c]", "38,5")
    result = page.locator("#triage-result")
    expect(result).to_contain_text("Rød")
    expect(result).to_contain_text("Feber 38,0 °C eller mer under behandling")
    expect(result).to_contain_text("Til lege nå")
    page.click("#triage-form button[type=submit]")
    expect(page.locator("#red-banner")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Feber 38,0 °C eller mer under behandling")

    expect(first_row).to_contain_text("Emma Johansen")
    expect(first_row.locator(".pill")).to_have_text("Rød")
    expect(first_row.locator(".deadline")).to_contain_text("om 1")
    kari_context.close()
    ola_context.close()


def test_lowering_the_grade_without_a_reason_is_refused_in_norwegian(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section])
    child = InquiryFactory(section=section)
    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    login(page, daphne.base_url, kari.username)
    page.goto(f"{daphne.base_url}/henvendelser/{child.pk}/")
    page.click("#triage summary")
    page.select_option("select[name=bleeding]", "ongoing")
    expect(page.locator("#triage-result")).to_contain_text("Rød")
    page.select_option("select[name=override_grade]", "green")
    page.click("#triage-form button[type=submit]")
    expect(page.locator("#triage-form .form-error")).to_contain_text(
        "Skriv hvorfor du setter lavere grad"
    )
    child.refresh_from_db()
    assert child.grade is None
    context.close()
