"""Every role against every API operation (issue 12): the expected allow/deny table, written
out by hand, checked with real requests. A new operation must get a row here (the schema is
compared with the table), so nobody adds an endpoint without deciding who may use it.

C coordinator, S secretary, D doctor, L lead, A admin (configuration only: no patient data).
"auth" is anyone logged in; "anyone" needs no login. Allowed means "not refused for the role"
(the request may still be a 400 or a 404); denied means 403."""

import pytest
import yaml
from django.core.management import call_command

from tests.factories import SectionFactory, UserFactory

pytestmark = pytest.mark.django_db

TABLE = [
    ("GET", "/api/audit/", "L"),
    ("POST", "/api/auth/token/", "anyone"),
    ("GET", "/api/contacts/{id}/", "CSDL"),
    ("PATCH", "/api/contacts/{id}/", "CSL"),
    ("GET", "/api/doctors/", "CSDL"),
    ("GET", "/api/escalations/", "CDL"),
    ("GET", "/api/escalations/{id}/", "CDL"),
    ("POST", "/api/escalations/{id}/acknowledge/", "D"),
    ("POST", "/api/escalations/{id}/answer/", "D"),
    ("POST", "/api/escalations/{id}/reassign/", "CDL"),
    ("POST", "/api/followups/{id}/cancel/", "CL"),
    ("GET", "/api/inbox/set-aside/", "CL"),
    ("POST", "/api/inbox/set-aside/{id}/take-in/", "CL"),
    ("GET", "/api/inquiries/", "CSDL"),
    ("POST", "/api/inquiries/", "CSL"),
    ("GET", "/api/inquiries/{id}/", "CSDL"),
    ("GET", "/api/inquiries/{id}/assessments/", "CDL"),
    ("POST", "/api/inquiries/{id}/assessments/", "CDL"),
    ("POST", "/api/inquiries/{id}/claim/", "CL"),
    ("POST", "/api/inquiries/{id}/close/", "CL"),
    ("POST", "/api/inquiries/{id}/escalations/", "CL"),
    ("GET", "/api/inquiries/{id}/messages/", "CSDL"),
    ("POST", "/api/inquiries/{id}/notes/", "CSDL"),
    ("POST", "/api/inquiries/{id}/patient/", "CL"),
    ("POST", "/api/inquiries/{id}/release/", "CL"),
    ("POST", "/api/inquiries/{id}/replies/", "CSL"),
    ("GET", "/api/me/", "auth"),
    ("GET", "/api/messages/{id}/", "CSDL"),
    ("POST", "/api/messages/{id}/reissue/", "CSL"),
    ("POST", "/api/messages/preview/", "CL"),
    ("GET", "/api/municipal-coordinators/", "CSL"),
    ("GET", "/api/patients/", "CSDL"),
    ("POST", "/api/patients/", "CL"),
    ("GET", "/api/patients/{id}/", "CSDL"),
    ("PATCH", "/api/patients/{id}/", "CL"),
    ("GET", "/api/patients/{id}/contacts/", "CSDL"),
    ("POST", "/api/patients/{id}/contacts/", "CSL"),
    ("GET", "/api/patients/{id}/followups/", "CSDL"),
    ("POST", "/api/patients/{id}/followups/", "CL"),
    ("GET", "/api/rosters/", "CSDL"),
    ("GET", "/api/stats/", "L"),
    ("GET", "/api/stats/csv/", "L"),
    ("GET", "/api/fhir/Communication", "CDL"),
    ("GET", "/api/fhir/Task", "CDL"),
    ("POST", "/api/rosters/", "L"),
    ("DELETE", "/api/rosters/{id}/", "L"),
    ("POST", "/api/rosters/import/", "L"),
    ("GET", "/api/templates/", "CSL"),
    ("POST", "/api/templates/", "L"),
    ("GET", "/api/templates/{key}/", "CSL"),
    ("POST", "/api/templates/{key}/preview/", "CSL"),
    ("POST", "/api/templates/{key}/versions/", "L"),
    ("POST", "/api/triage/assess/", "CDL"),
    ("GET", "/api/triage/rules/", "CSDL"),
    ("POST", "/api/triage/rules/", "L"),
    ("POST", "/api/users/{id}/unlock/", "L"),
]
ROLES = {"C": "coordinator", "S": "secretary", "D": "doctor", "L": "lead", "A": "admin"}


def test_the_table_covers_every_operation_in_the_schema(tmp_path):
    path = tmp_path / "openapi.yml"
    call_command("spectacular", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    documented = {
        (method.upper(), route)
        for route, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert documented == {(method, route) for method, route, _ in TABLE}


@pytest.mark.parametrize(("method", "route", "who"), TABLE, ids=[f"{m} {r}" for m, r, _ in TABLE])
def test_each_role_is_allowed_or_refused_as_the_table_says(client, api_as, method, route, who):
    section = SectionFactory()
    url = route.replace("{id}", "987654").replace("{key}", "no-such-template")
    anonymous = client.generic(method, url, "{}", content_type="application/json")
    if who == "anyone":
        assert anonymous.status_code not in (401, 403), url
    else:
        assert anonymous.status_code == 401, (url, anonymous.status_code)
    for letter, role in ROLES.items():
        user = UserFactory(role=role, sections=[section])
        response = api_as(user).generic(method, url, "{}", content_type="application/json")
        allowed = who in ("anyone", "auth") or letter in who
        if allowed:
            assert response.status_code not in (401, 403), (role, method, url, response.content)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert response.json()["error"]["code"] == "permission_denied"
