"""The coordinator's queue page in Debian's Chromium, against a running Daphne."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from core import realtime
from henvendelser import services
from henvendelser.models import InboundText, Inquiry
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
        section_id=section.pk,
        caller_phone="+4791234567",
        summary="Logget mens forbindelsen var nede",
    )
    daphne.start()
    expect(banner).to_be_hidden(timeout=20_000)
    expect(page.locator("#queue-body")).to_contain_text("Logget mens forbindelsen var nede")


def test_an_inquiry_whose_broadcast_was_lost_appears_at_the_pages_next_ping(
    daphne, browser, monkeypatch
):
    """No frame came (the worker was killed between its commit and its broadcast) and nothing
    since shows a gap: the page's ping, every 25 s, hears the section's last seq and the page
    catches up without a reload."""
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    context = browser.new_context(locale="nb-NO")
    context.clock.install()
    page = context.new_page()
    login(page, daphne.base_url, coordinator.username)
    expect(page.locator("#queue-count")).to_have_text("(0)")
    page.evaluate("window.__notReloaded = true")
    monkeypatch.setattr(realtime, "broadcast", lambda *args: None)
    services.log_inquiry(
        by=coordinator,
        channel="phone",
        section_id=section.pk,
        caller_phone="+4791234567",
        summary="Lagret, men skjermen hørte det aldri",
    )
    page.clock.fast_forward("00:26")
    expect(page.locator("#queue-body")).to_contain_text("Lagret, men skjermen hørte det aldri")
    expect(page.locator("#queue-count")).to_have_text("(1)")
    assert page.evaluate("window.__notReloaded") is True
    context.close()


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


def test_a_text_the_inbox_set_aside_is_shown_to_coordinators_and_taken_in_once(
    daphne, browser, coordinator_page
):
    """A text a bug kept out of the queue: both coordinators see it above the queue; one
    double-clicks "Legg i køen"; it is one inquiry on both screens, gone from both banners,
    and so after a reload. The secretary, who cannot take it in, is not shown it."""
    page, section, _ = coordinator_page
    patient = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    ContactFactory(patient=patient, phone="+4791234567", name="Ingrid Johansen")
    InboundText.objects.create(
        message_sid="SMstuck01",
        section=section,
        from_phone="+4791234567",
        body="Emma har 38,5 i feber",
        received_at=timezone.now() - dt.timedelta(minutes=12),
        failures=django_settings.INBOX_MAX_ATTEMPTS,
    )
    page.reload()
    banner = page.locator("#set-aside")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Emma har 38,5 i feber")
    expect(banner).to_contain_text("+4791234567")
    other = UserFactory(role="coordinator", sections=[section], first_name="Ola")
    context = browser.new_context(locale="nb-NO")
    ola = context.new_page()
    login(ola, daphne.base_url, other.username)
    expect(ola.locator("#set-aside")).to_contain_text("Emma har 38,5 i feber")
    secretary = UserFactory(role="secretary", sections=[section])
    secretary_context = browser.new_context(locale="nb-NO")
    secretary_page = secretary_context.new_page()
    login(secretary_page, daphne.base_url, secretary.username)
    expect(secretary_page.locator("#queue-count")).to_have_text("(0)")
    expect(secretary_page.locator("#set-aside")).to_have_count(0)

    page.locator("#set-aside button", has_text="Legg i køen").dblclick()

    for screen in (page, ola):
        expect(screen.locator("#set-aside")).to_be_hidden()
        row = screen.locator("#queue-body tr.row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Emma Johansen (Ingrid Johansen)")
        expect(row).to_contain_text("12 min")
        expect(row).to_contain_text("Mulig rød")  # the alarm screen ran on taking it in
    page.reload()
    expect(page.locator("#queue-body tr.row")).to_have_count(1)
    expect(page.locator("#set-aside")).to_be_hidden()
    assert Inquiry.objects.count() == 1
    context.close()
    secretary_context.close()


def test_on_a_phone_the_secretarys_queue_fits_the_screen_as_cards(daphne, browser):
    """390 px wide: no sideways scrolling, nothing cut off; each row a card whose cells say
    which column they are (the table's own headings), the family's latest words included."""
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    secretary = UserFactory(role="secretary", sections=[section])
    patient = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    ContactFactory(patient=patient, phone="+4791234567", name="Ingrid Johansen")
    services.log_inquiry(
        by=secretary,
        channel="phone",
        section_id=section.pk,
        patient=patient,
        caller_phone="+4791234567",
        summary="Lurer på når neste blodprøve er, og om vi kan komme litt senere enn avtalt",
    )
    context = browser.new_context(
        locale="nb-NO", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    login(page, daphne.base_url, secretary.username)
    row = page.locator("#queue-body tr.row")
    expect(row).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    summary = row.locator("td.summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("litt senere enn avtalt")
    named = page.evaluate(
        "() => Array.from(document.querySelectorAll('#queue-body tr.row td'))"
        ".map((td) => getComputedStyle(td, '::before').content)"
    )
    assert named[:2] == ['"Grad"', '"Venter"'] and '"Siste fra familien"' in named
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    context.close()
