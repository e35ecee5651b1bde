"""The lead's week view of the roster, in the browser."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def test_a_lead_imports_a_csv_and_sees_the_week(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    lead = UserFactory(role="lead", sections=[section])
    UserFactory(
        role="doctor", sections=[section], username="lege1", first_name="Lars", last_name="Lege"
    )
    today = timezone.localdate()
    start = dt.datetime.combine(today, dt.time(8, 0)).isoformat(timespec="minutes")
    end = dt.datetime.combine(today, dt.time(16, 0)).isoformat(timespec="minutes")
    context = browser.new_context(locale="nb-NO", timezone_id="Europe/Oslo")
    page = context.new_page()
    login(page, daphne.base_url, lead.username)
    page.goto(daphne.base_url + "/vaktplan/")
    page.fill(
        "#csv-form textarea", f"role,doctor,starts_at,ends_at\nward_doctor,lege1,{start},{end}\n"
    )
    page.click("#csv-form button")
    expect(page.locator("#roster-body")).to_contain_text("Lars Lege 08:00\u201316:00")
    page.fill("#csv-form textarea", "role,doctor,starts_at,ends_at\non_call,nobody,x,y\n")
    page.click("#csv-form button")
    expect(page.locator("#csv-form .form-error")).to_contain_text("Vaktplanen ble ikke importert")
    # Field names and codes are for programs: only sentences reach the lead.
    assert "csv:" not in page.locator("#csv-form .form-error").inner_text()
    context.close()
