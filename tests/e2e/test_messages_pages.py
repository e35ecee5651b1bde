"""The reply box and the secure page in real browsers: pick a template, see the preview and
the segment count, send through the fake Twilio, see `levert` when Twilio calls back; then
the parent opens the secure link in another browser, and answers."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from maler.services import load_seed_templates
from tests.conftest import TWILIO_TEST_ACCOUNT, TWILIO_TEST_FROM
from tests.e2e.conftest import login
from tests.factories import (
    ALWAYS_OPEN,
    ContactFactory,
    InquiryFactory,
    PatientFactory,
    SectionFactory,
    UserFactory,
)
from tests.processes import DaphneServer

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def server(transactional_db, fake_twilio_server):
    daphne = DaphneServer(
        extra_env={
            "TWILIO_ACCOUNT_SID": TWILIO_TEST_ACCOUNT,
            "TWILIO_FROM_NUMBER": TWILIO_TEST_FROM,
            "TWILIO_API_BASE_URL": fake_twilio_server.url,
        }
    ).start()
    yield daphne
    daphne.stop()


def test_reply_preview_send_delivered_and_the_secure_page(server, fake_twilio_server, browser):
    fake = fake_twilio_server
    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section], first_name="Kari")
    patient = PatientFactory(section=section, first_name="Emma", birth_date=dt.date(2017, 3, 14))
    mother = ContactFactory(patient=patient, phone="+4791000001", sms_consent=True)
    inquiry = InquiryFactory(
        section=section,
        patient=patient,
        contact=mother,
        caller_phone=mother.phone,
        claimed_by=kari,
        status="in_progress",
        summary="Når kommer svaret på blodprøvene?",
    )

    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    login(page, server.base_url, kari.username)
    page.goto(f"{server.base_url}/henvendelser/{inquiry.pk}/")
    page.evaluate("window.__notReloaded = true")

    page.select_option("#reply-template", "blodprover_fine")
    page.fill("#reply-variables input[name=dato]", "3. desember")
    expect(page.locator("#reply-counter")).to_contain_text("mangler: klokkeslett")
    page.fill("#reply-variables input[name=klokkeslett]", "09:30")
    expect(page.locator("#reply-preview")).to_contain_text("Neste time er 3. desember kl. 09:30.")
    expect(page.locator("#reply-counter")).to_have_text(re.compile(r"^GSM-7 · \d+ tegn · 1 SMS$"))
    page.click("#reply-send")

    row = page.locator("#messages li.message").first
    expect(row.locator(".message-status")).to_have_text("sendt")
    [sent] = fake.sent_to(mother.phone)
    assert fake.send_callback(sent["sid"], "delivered") == 204
    expect(row.locator(".message-status")).to_have_text("levert")

    # A sensitive template: the SMS has only a link; the parent opens it in their own browser.
    page.select_option("#reply-template", "provesvar_klare")
    page.fill("#reply-variables input[name=dato]", "1. desember")
    page.fill("#reply-variables input[name=svar]", "Alle verdiene er fine.")
    page.fill("#reply-variables input[name=telefon]", "22 00 00 00")
    expect(page.locator("#reply-counter")).to_contain_text("sikker lenke")
    page.click("#reply-send")
    expect(page.locator("#messages li.message")).to_have_count(2)
    second = [m for m in fake.sent_to(mother.phone) if "/m/" in m["body"]]
    assert len(second) == 1 and "Alle verdiene" not in second[0]["body"]
    link = re.search(r"(http://\S+/m/[A-Za-z0-9_-]+)", second[0]["body"])[1]

    parent = browser.new_context(locale="nb-NO", viewport={"width": 390, "height": 844})
    phone = parent.new_page()
    phone.goto(link)
    expect(phone.locator("body")).not_to_contain_text("Alle verdiene")
    phone.fill("input[name=day]", "14")
    phone.fill("input[name=month]", "3")
    phone.fill("input[name=year]", "2017")
    phone.click("button[type=submit]")
    expect(phone.locator("#message-content")).to_contain_text("Alle verdiene er fine.")
    phone.fill("#reply", "Takk! Da ses vi på torsdag.")
    phone.click("button[type=submit]")
    expect(phone.locator("[role=status]")).to_contain_text("svaret ditt er sendt")

    # The answer joins the inquiry on the coordinator's page, without a reload.
    expect(page.locator("#timeline")).to_contain_text("Takk! Da ses vi på torsdag.")
    assert page.evaluate("window.__notReloaded") is True
    parent.close()
    context.close()
