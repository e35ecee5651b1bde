"""What the queue and the log form lean on: the newest words of the family on each row, and
finding a patient by name, number or date of birth."""

import datetime as dt

import pytest

from henvendelser.services.intake import receive_sms
from tests.factories import ContactFactory, PatientFactory

pytestmark = pytest.mark.django_db


def test_each_row_previews_the_familys_newest_text(api_as, coordinator, section):
    for n, body in enumerate(["Hei, et spørsmål om timen.", "Glem det, vi fant ut av det."]):
        receive_sms(
            message_sid=f"SM{n:032d}",
            from_phone="+4791234567",
            to_phone=section.phone_number,
            body=body,
        )
    [row] = api_as(coordinator).get("/api/inquiries/?open=true").json()["results"]
    assert row["latest_text"] == "Glem det, vi fant ut av det."


def test_patients_are_found_by_name_number_or_date_of_birth(api_as, coordinator, section):
    emma = PatientFactory(
        section=section, first_name="Emma", last_name="Johansen", birth_date=dt.date(2017, 3, 14)
    )
    ContactFactory(patient=emma, phone="+4791700001")
    PatientFactory(section=section, first_name="Jakob", last_name="Pedersen")
    api = api_as(coordinator)

    def found(term):
        response = api.get("/api/patients/", {"search": term})
        return [p["first_name"] for p in response.json()["results"]]

    assert found("emma joh") == ["Emma"]
    assert found("917 00 001") == ["Emma"]
    assert found("14.03.2017") == ["Emma"]
    assert found("ingen slik") == []
