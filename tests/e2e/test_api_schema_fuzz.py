"""The API against its own OpenAPI schema, fuzzed by schemathesis against the running service
(Daphne on the tests' database), as a coordinator and as a secretary: no 5xx, and every answer
matches the schema (status code, content type, body). Bounded so it fits in CI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from maler.services import load_seed_templates
from tests.factories import ContactFactory, InquiryFactory, PatientFactory, UserFactory

pytestmark = [pytest.mark.e2e]

EXAMPLES_PER_OPERATION = 10
# What the API promises: never a 5xx, and answers as the schema describes them. (Whether every
# schema-valid body is also accepted is not among them: rules such as a phone number's format
# or a lifecycle step are the service's, not the schema's.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def fuzz(base_url: str, token: str) -> tuple[list[str], dict[int, int]]:
    """Every operation, a few generated requests each: the failures, described, and how many
    answers of each status were seen (so a run that reached nothing cannot pass)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/")
    session = requests.Session()
    headers = {"Authorization": f"Token {token}"}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(
                base_url=base_url, session=session, headers=headers, checks=CHECKS
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # one failure must not hide the rest
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return failures, statuses


@pytest.fixture
def world(transactional_db: Any) -> dict[str, str]:
    from tests.factories import ALWAYS_OPEN, SectionFactory

    load_seed_templates()
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    tokens = {}
    for role in ("coordinator", "secretary"):
        tokens[role] = Token.objects.create(user=UserFactory(role=role, sections=[section])).key
    patient = PatientFactory(section=section, birth_date=dt.date(2017, 3, 14))
    contact = ContactFactory(patient=patient, sms_consent=True)
    for _ in range(3):
        InquiryFactory(section=section, patient=patient, contact=contact)
    return tokens


@pytest.mark.parametrize("role", ["coordinator", "secretary"])
def test_no_5xx_and_every_answer_matches_the_schema(daphne: Any, world: Any, role: str) -> None:
    failures, statuses = fuzz(daphne.base_url, world[role])
    assert not failures, "\n\n".join(failures)
    print(role, dict(sorted(statuses.items())))
    # It reached the service: answers of several kinds, most of all successes and refusals.
    assert sum(statuses.values()) >= 100
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0
