"""The coordinator's queue page in Debian's Chromium, against a running Daphne."""

import pytest
from playwright.sync_api import expect

from henvendelser import services
from tests.e2e.conftest import login
from tests.e2e.test_webhook_to_socket import post_signed
from tests.factories import ALWAYS_OPEN, ContactFactory, PatientFactory, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def coordinator_page(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(
        role="coordinator", sections=[section], first_name="Kari", last_name="Nordmann"
    )
    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    login(page, daphne.base_url, coordinator.username)
    expect(page.locator("#queue-count")).to_have_text("(0)")
    yield page, section, coordinator
    context.close()


def test_a_new_text_appears_in_the_queue_without_reload(daphne, coordinator_page):
    page, section, _ = coordinator_page
    patient = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    ContactFactory(patient=patient, phone="+4791234567", name="Ingrid Johansen")
    page.evaluate("window.__notReloaded = true")

    post_signed(
        daphne,
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMpage0001",
            "From": "+4791234567",
            "To": section.phone_number,
            "Body": "Emma har feber igjen",
        },
    )
    row = page.locator("#queue-body tr.row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Emma Johansen (Ingrid Johansen)")
    expect(row).to_contain_text("Emma har feber igjen")
    expect(row).to_contain_text("SMS")
    assert page.evaluate("window.__notReloaded") is True


def test_claim_note_and_close_from_the_inquiry_page(daphne, coordinator_page):
    page, section, _ = coordinator_page
    post_signed(
        daphne,
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMpage0002",
            "From": "+4798765432",
            "To": section.phone_number,
            "Body": "Hvor parkerer vi?",
        },
    )
    page.locator("#queue-body tr.row a").click()
    expect(page.locator("#timeline")).to_contain_text("Hvor parkerer vi?")
    page.click("#claim-btn")
    expect(page.locator("#inq-meta")).to_contain_text("Hos Kari Nordmann")
    page.fill("#note-form textarea", "Sendte kart over parkeringen.")
    page.click("#note-form button")
    expect(page.locator("#timeline")).to_contain_text("Sendte kart over parkeringen.")
    page.fill("#close-form textarea", "Svarte på telefon.")
    page.click("#close-form button")
    expect(page.locator("#inq-meta")).to_contain_text("Lukket")
    page.goto(daphne.base_url + "/")
    expect(page.locator("#queue-count")).to_have_text("(0)")


def test_a_dropped_socket_shows_a_banner_and_the_queue_catches_up_when_it_returns(
    daphne, coordinator_page
):
    page, section, coordinator = coordinator_page
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()
    daphne.stop()
    expect(banner).to_be_visible()
    # Written while the page could not hear about it.
    services.log_inquiry(
        by=coordinator,
        channel="phone",
        section=section,
        caller_phone="+4791234567",
        summary="Logget mens forbindelsen var nede",
    )
    daphne.start()
    expect(banner).to_be_hidden(timeout=20_000)
    expect(page.locator("#queue-body")).to_contain_text("Logget mens forbindelsen var nede")


def test_another_coordinator_sees_who_has_the_inquiry_open(daphne, browser, coordinator_page):
    page, section, _ = coordinator_page
    other = UserFactory(
        role="coordinator", sections=[section], first_name="Ola", last_name="Hansen"
    )
    post_signed(
        daphne,
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMpage0003",
            "From": "+4798765432",
            "To": section.phone_number,
            "Body": "Spørsmål om timen",
        },
    )
    expect(page.locator("#queue-body tr.row")).to_have_count(1)
    context = browser.new_context(locale="nb-NO")
    ola = context.new_page()
    login(ola, daphne.base_url, other.username)
    ola.locator("#queue-body tr.row a").click()
    expect(page.locator("#queue-body tr.row")).to_contain_text("Ola Hansen ser på")
    ola.fill("#note-form textarea", "Skriver …")
    expect(page.locator("#queue-body tr.row")).to_contain_text("Ola Hansen skriver")
    context.close()
