"""Follow-up plans on the inquiry page: make a Pakkeforløp hjem plan (recording the family's
consent to SMS on the way), see what goes when, end it."""

import datetime as dt

import pytest
from django.utils import timezone
from meldinger.models import Message, MunicipalCoordinator
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


def test_the_coordinator_makes_a_plan_sees_its_dates_and_ends_it(daphne, browser):
    """The mother has not yet been asked about SMS: the plan is refused until the coordinator
    confirms that she has consented, which is recorded in the same step."""
    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    kari = UserFactory(role="coordinator", sections=[section], first_name="Kari", last_name="N")
    patient = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    mother = ContactFactory(
        patient=patient, name="Mor Johansen", phone="+4791000001", sms_consent=False
    )
    MunicipalCoordinator.objects.create(
        municipality_number="0301",
        municipality="Oslo",
        name="Hanne Koordinator",
        phone="+4721000301",
    )
    inquiry = InquiryFactory(section=section, patient=patient, contact=mother, status="in_progress")
    diagnosed = timezone.localdate() - dt.timedelta(days=3)

    context = browser.new_context(locale="nb-NO")
    page = context.new_page()
    asked = []

    def answer_yes(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer_yes)
    login(page, daphne.base_url, kari.username)
    page.goto(f"{daphne.base_url}/henvendelser/{inquiry.pk}/")
    plans = page.locator("#followup-list")
    expect(plans).to_contain_text("Ingen oppfølgingsplan.")

    page.click("#followup-new summary")
    form = page.locator("#followup-form")
    expect(form.locator("select[name=contact]")).to_contain_text(
        "Mor Johansen (+4791000001) \u2013 mangler samtykke til SMS"
    )
    form.locator("select[name=municipality]").select_option(label="Oslo \u2013 Hanne Koordinator")
    form.locator("input[name=start_date]").fill(diagnosed.isoformat())
    form.locator("button[type=submit]").click()

    plan = plans.locator("li.plan")
    expect(plan).to_have_count(1)
    expect(plan).to_contain_text("Oslo: Hanne Koordinator +4721000301")
    steps = plan.locator("li.plan-step")
    expect(steps).to_have_count(4)
    expect(steps.nth(1)).to_contain_text("samtale etter 3\u20134 måneder")
    expect(steps.nth(3)).to_contain_text("samtale etter 12\u201318 måneder")
    expect(steps.nth(0)).to_contain_text("planlagt")
    assert "Samtykke til SMS er ikke registrert" in asked[0]
    mother.refresh_from_db()
    assert (mother.sms_consent, mother.sms_consent_by) == (True, kari)
    expect(form.locator("select[name=contact]")).not_to_contain_text("mangler samtykke")
    stored = Message.objects.filter(plan__patient=patient).order_by("scheduled_for")
    assert [m.status for m in stored] == ["scheduled"] * 4

    plan.locator("button.cancel-plan").click()
    expect(plan).to_contain_text("avsluttet")
    expect(plan.locator("li.plan-step.status-cancelled")).to_have_count(4)
    expect(plan.locator("button.cancel-plan")).to_have_count(0)
    assert {m.status for m in stored.all()} == {"cancelled"}
    assert "Avslutte planen?" in asked[1]
    context.close()
