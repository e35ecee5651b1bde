"""API tokens (core.auth): the user, roles and sections in one query, and nothing remembered
between requests, so a revoked token, a lost role or a lost section counts at once."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from core.models import Membership
from tests.conftest import error_code
from tests.factories import InquiryFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_request_learns_who_the_token_is_in_one_query(api_as, coordinator, section):
    InquiryFactory(section=section)
    client = api_as(coordinator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/inquiries/?open=true")
    assert response.status_code == 200 and response.json()["count"] == 1
    asked = [q["sql"] for q in queries.captured_queries]
    assert "authtoken_token" in asked[0]
    assert not [sql for sql in asked[1:] if "auth_user_groups" in sql or "core_membership" in sql]


def test_a_user_in_several_sections_and_roles_gets_each(api_as, section):
    second = SectionFactory()
    lead = UserFactory(role="lead", sections=[second, section])
    lead.groups.add(Group.objects.get_or_create(name="doctor")[0])
    client = api_as(lead)
    for wanted in (section, second):
        InquiryFactory(section=wanted)
        listed = client.get(f"/api/inquiries/?section={wanted.pk}")
        assert listed.status_code == 200 and listed.json()["count"] == 1
    assert client.get("/api/audit/").status_code == 200  # the lead's


def test_a_role_or_section_taken_away_counts_from_the_next_request(api_as, coordinator, section):
    client = api_as(coordinator)
    assert client.get("/api/inquiries/?open=true").status_code == 200
    Membership.objects.filter(user=coordinator, section=section).delete()
    assert client.get(f"/api/inquiries/?section={section.pk}").json()["count"] == 0
    coordinator.groups.clear()
    refused = client.get("/api/inquiries/?open=true")
    assert refused.status_code == 403
    assert error_code(refused) == "permission_denied"


def test_a_deleted_token_or_a_deactivated_user_is_refused_at_once(api_as, coordinator, doctor):
    client = api_as(coordinator)
    assert client.get("/api/inquiries/").status_code == 200
    Token.objects.filter(user=coordinator).delete()
    assert client.get("/api/inquiries/").status_code == 401

    other = api_as(doctor)
    assert other.get("/api/inquiries/").status_code == 200
    doctor.is_active = False
    doctor.save()
    assert other.get("/api/inquiries/").status_code == 401


def test_a_user_with_no_role_and_no_section_is_known_but_allowed_nothing(api_as):
    nobody = UserFactory()
    response = api_as(nobody).get("/api/inquiries/")
    assert response.status_code == 403


def test_an_unknown_token_is_a_401_with_a_reason_in_norwegian(client, section):
    response = client.get("/api/inquiries/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    assert response.json()["error"]["message"] == "Innloggingen er ugyldig."
