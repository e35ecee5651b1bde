"""The lead's locked accounts, in the browser: a colleague locked out is opened with one press
(a double click included), and can log in again."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import AccountLock
from tests.e2e.conftest import login
from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def test_a_lead_opens_a_locked_colleagues_account_and_the_colleague_logs_in(daphne, browser):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    lead = UserFactory(role="lead", sections=[section])
    nurse = UserFactory(
        role="coordinator", sections=[section], first_name="Kari", last_name="Koordinator"
    )
    AccountLock.objects.create(user=nurse, failures=5, locked_at=timezone.now())
    context = browser.new_context(locale="nb-NO", timezone_id="Europe/Oslo")
    page = context.new_page()
    login(page, daphne.base_url, lead.username)
    page.click("nav >> text=Låste kontoer")
    rows = page.locator("#locked-accounts tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Kari Koordinator")
    page.locator("#locked-accounts button").dblclick()
    expect(page.locator(".notice")).to_have_count(1)
    expect(page.locator(".notice")).to_have_text("Kari Koordinator kan logge inn igjen.")
    expect(page.locator("#no-locked-accounts")).to_be_visible()
    page.reload()  # shown anew, nothing sent again
    expect(page.locator(".notice")).to_have_count(0)
    expect(page.locator("#no-locked-accounts")).to_be_visible()
    context.close()

    colleague = browser.new_context(locale="nb-NO").new_page()
    login(colleague, daphne.base_url, nurse.username)
    colleague.context.close()
