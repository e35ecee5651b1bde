"""The statistics page (/statistikk/) in Chromium: a lead sees the period's totals and a bar
per day by grade, and gets the CSV; a coordinator is refused."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import ALWAYS_OPEN, InquiryFactory, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def test_a_lead_reads_the_figures_and_a_coordinator_is_refused(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    leder = UserFactory(role="lead", sections=[section])
    kari = UserFactory(role="coordinator", sections=[section])
    now = timezone.now()
    for grade, days_ago in (("red", 0), ("green", 0), ("amber", 2), ("", 3)):
        when = now - dt.timedelta(days=days_ago)
        InquiryFactory(section=section, grade=grade, created_at=when, updated_at=when)

    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    login(page, daphne.base_url, leder.username)
    page.click("text=Statistikk")
    totals = page.locator("#stats-totals")
    expect(totals).to_contain_text("Henvendelser")
    expect(totals.locator("dd").first).to_have_text("4")
    expect(page.locator("#stats-chart rect.bar")).to_have_count(4)
    expect(page.locator("#stats-chart rect.bar.red")).to_have_count(1)
    assert "from=" in page.locator("#stats-csv").get_attribute("href")
    # A shorter period: only today's two.
    page.fill("input[name=from]", timezone.localdate().isoformat())
    page.click("#stats-form button[type=submit]")
    expect(totals.locator("dd").first).to_have_text("2")
    context.close()

    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    login(page, daphne.base_url, kari.username)
    expect(page.locator("nav")).not_to_contain_text("Statistikk")
    response = page.goto(daphne.base_url + "/statistikk/")
    assert response.status == 403
    context.close()
