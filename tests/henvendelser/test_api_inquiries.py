import datetime as dt

import pytest
from django.utils import timezone

from core.models import AuditEvent, Event
from henvendelser.models import Inquiry, TimelineEntry
from tests.conftest import error_code
from tests.factories import ContactFactory, InquiryFactory, PatientFactory

pytestmark = pytest.mark.django_db


def log_call(client, **body):
    payload = {"channel": "phone", "caller_phone": "91234567", "summary": "Spør om timen"}
    payload.update(body)
    return client.post("/api/inquiries/", payload, format="json")


def test_a_secretary_logs_a_call_and_the_caller_is_matched_to_the_patient(
    api_as, secretary, section
):
    contact = ContactFactory(patient=PatientFactory(section=section), phone="+4791234567")
    response = log_call(api_as(secretary), category="appointment")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "new"
    assert data["channel"] == "phone"
    assert data["patient"] == contact.patient_id
    assert data["contact"] == contact.pk
    assert data["caller_phone"] == "+4791234567"
    assert data["grade"] is None
    assert data["identification"] == "identified"
    entry = TimelineEntry.objects.get(inquiry_id=data["id"])
    assert (entry.kind, entry.author) == ("created", secretary)


def test_the_logged_call_reads_in_the_answer_and_the_event_as_the_queue_shows_it(
    api_as, coordinator, section
):
    """The new row is built without asking for its escalation, messages or latest words (it
    has none yet); it must still be exactly the row a fresh read of the queue returns."""
    client = api_as(coordinator)
    created = log_call(client).json()
    [row] = client.get("/api/inquiries/?open=true").json()["results"]
    assert created == row
    event = Event.objects.get(section=section, type="inquiry.created")
    assert event.payload["inquiry"] == row
    assert (row["escalation"], row["latest_text"], row["last_message_status"]) == (None, "", None)


@pytest.mark.django_db(transaction=True)
def test_calls_logged_at_once_in_one_section_are_each_stored_and_numbered_without_a_gap(
    coordinator, section
):
    """Four secretaries' screens logging calls at the same moment: the section is locked only
    by the statement that numbers each event, so the inserts before it run side by side;
    every call is still there once, with its own event, numbered 1..n with no gap or repeat
    that a screen would take for a lost event."""
    from itertools import count

    from henvendelser.services import log_inquiry
    from tests.processes import at_once

    numbers = count()

    def log_five():
        return [
            log_inquiry(
                by=coordinator,
                channel="phone",
                section_id=section.pk,
                caller_phone=f"+479{next(numbers):07d}",
            ).pk
            for _ in range(5)
        ]

    made = sorted(pk for pks in at_once(log_five, threads=4) for pk in pks)
    assert len(made) == 20
    events = list(Event.objects.filter(section=section).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, 21))
    assert sorted(e.payload["inquiry"]["id"] for e in events) == made
    assert sorted(Inquiry.objects.filter(section=section).values_list("pk", flat=True)) == made
    section.refresh_from_db()
    assert section.last_seq == 20


def test_logging_needs_a_patient_or_a_phone_number(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/inquiries/", {"channel": "phone", "summary": "?"}, format="json"
    )
    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]
    assert not Inquiry.objects.exists()


def test_logging_for_a_patient_of_another_section_is_refused(api_as, coordinator, other_section):
    foreign = PatientFactory(section=other_section)
    response = log_call(api_as(coordinator), patient=foreign.pk)
    assert response.status_code == 400
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax"},
        {"caller_phone": "12"},
        {"category": "gossip"},
        {"summary": "x" * 4001},
        {"priority": "high"},
    ],
)
def test_bad_inquiry_input_gets_a_clear_error_and_stores_nothing(api_as, coordinator, body):
    response = log_call(api_as(coordinator), **body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    assert not Inquiry.objects.exists()


def test_doctors_cannot_log_inquiries(api_as, doctor):
    assert log_call(api_as(doctor)).status_code == 403


def test_the_queue_is_in_grade_order_then_longest_waiting_first(api_as, coordinator, section):
    now = timezone.now()
    old_untriaged = InquiryFactory(section=section, created_at=now - dt.timedelta(hours=3))
    green = InquiryFactory(section=section, grade="green", created_at=now - dt.timedelta(hours=5))
    red_newer = InquiryFactory(
        section=section, grade="red", created_at=now - dt.timedelta(minutes=1)
    )
    red_older = InquiryFactory(section=section, grade="red", created_at=now - dt.timedelta(hours=1))
    amber = InquiryFactory(section=section, grade="amber", created_at=now)
    alarm = InquiryFactory(section=section, alarm=True, created_at=now - dt.timedelta(minutes=30))
    response = api_as(coordinator).get("/api/inquiries/")
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [red_older.pk, alarm.pk, red_newer.pk, amber.pk, green.pk, old_untriaged.pk]


def test_queue_filters(api_as, coordinator, section):
    mine = InquiryFactory(
        section=section, status="in_progress", claimed_by=coordinator, channel="sms", grade="amber"
    )
    closed = InquiryFactory(section=section, status="closed", channel="phone")
    untriaged = InquiryFactory(section=section, channel="phone")
    client = api_as(coordinator)

    def ids(query):
        response = client.get("/api/inquiries/" + query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("?open=true") == {mine.pk, untriaged.pk}
    assert ids("?status=closed") == {closed.pk}
    assert ids("?status=new&status=in_progress") == {mine.pk, untriaged.pk}
    assert ids("?channel=sms") == {mine.pk}
    assert ids("?assigned_to=me") == {mine.pk}
    assert ids("?assigned_to=none") == {closed.pk, untriaged.pk}
    assert ids("?grade=amber") == {mine.pk}
    assert ids("?grade=none&open=true") == {untriaged.pk}
    bad = client.get("/api/inquiries/?status=lost")
    assert bad.status_code == 400


def test_every_filter_gives_its_own_rows_when_the_same_filter_is_read_again_with_other_values(
    api_as, make_user, section, other_section
):
    """The queue's read is compiled once per combination of filters (core.sql.prepared) and
    later reads bind their own values: each query string here is compared with the rows it
    should give, worked out in Python, and each filter is read with several values in turn."""
    coordinator = make_user("coordinator", sections=[section, other_section])
    colleague = make_user("coordinator", sections=[section, other_section])
    patients = [PatientFactory(section=section), PatientFactory(section=other_section)]
    rows = []
    for n in range(24):
        rows.append(
            InquiryFactory(
                section=[section, other_section][n % 2],
                patient=patients[n % 2] if n % 3 == 0 else None,
                status=["new", "in_progress", "awaiting_doctor", "closed"][n % 4],
                channel=["sms", "phone"][n // 2 % 2],
                grade=[None, "red", "amber", "green"][n // 3 % 4],
                claimed_by=[None, coordinator, colleague][n // 4 % 3],
                created_at=timezone.now() - dt.timedelta(minutes=n),
            )
        )
    client = api_as(coordinator)

    def ids(query):
        response = client.get(f"/api/inquiries/?page_size=200&{query}")
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["results"])

    def expected(keep):
        return sorted(row.pk for row in rows if keep(row))

    grade_of = {"none": None}
    cases = [
        (f"section={s.pk}", lambda r, s=s: r.section_id == s.pk) for s in (section, other_section)
    ]
    for statuses in (["new"], ["closed"], ["in_progress", "awaiting_doctor"], ["new", "closed"]):
        cases.append(
            ("&".join(f"status={s}" for s in statuses), lambda r, s=statuses: r.status in s)
        )
    for grades in (["red"], ["green"], ["none"], ["amber", "none"], ["red", "amber"]):
        cases.append(
            (
                "&".join(f"grade={g}" for g in grades),
                lambda r, g=grades: r.grade in [grade_of.get(x, x) for x in g],
            )
        )
    cases += [
        ("channel=sms", lambda r: r.channel == "sms"),
        ("channel=phone", lambda r: r.channel == "phone"),
        ("assigned_to=me", lambda r: r.claimed_by_id == coordinator.pk),
        (f"assigned_to={colleague.pk}", lambda r: r.claimed_by_id == colleague.pk),
        ("assigned_to=none", lambda r: r.claimed_by_id is None),
        (f"patient={patients[0].pk}", lambda r: r.patient_id == patients[0].pk),
        (f"patient={patients[1].pk}", lambda r: r.patient_id == patients[1].pk),
        ("open=true", lambda r: r.status != "closed"),
        (
            f"open=true&section={other_section.pk}&grade=none&channel=phone",
            lambda r: (
                r.status != "closed"
                and r.section_id == other_section.pk
                and r.grade is None
                and r.channel == "phone"
            ),
        ),
        (
            f"open=true&section={section.pk}&grade=none&channel=sms",
            lambda r: (
                r.status != "closed"
                and r.section_id == section.pk
                and r.grade is None
                and r.channel == "sms"
            ),
        ),
        (
            f"assigned_to=me&status=closed&patient={patients[0].pk}",
            lambda r: (
                r.claimed_by_id == coordinator.pk
                and r.status == "closed"
                and r.patient_id == patients[0].pk
            ),
        ),
        (
            f"assigned_to={colleague.pk}&status=new&patient={patients[1].pk}",
            lambda r: (
                r.claimed_by_id == colleague.pk
                and r.status == "new"
                and r.patient_id == patients[1].pk
            ),
        ),
    ]
    for _ in range(2):  # the second round reads every shape already compiled
        for query, keep in cases:
            assert ids(query) == expected(keep), query
    # A colleague in one section only: the same filters, other sections, other rows.
    narrow = api_as(make_user("coordinator", sections=[other_section]))
    got = narrow.get("/api/inquiries/?open=true&page_size=200").json()["results"]
    assert sorted(r["id"] for r in got) == expected(
        lambda r: r.section_id == other_section.pk and r.status != "closed"
    )


def test_the_queue_pages(api_as, coordinator, section):
    for _ in range(3):
        InquiryFactory(section=section)
    client = api_as(coordinator)
    body = client.get("/api/inquiries/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    last = client.get("/api/inquiries/?page_size=2&page=2").json()
    assert (last["count"], len(last["results"]), last["next"]) == (3, 1, None)
    assert {r["id"] for r in body["results"] + last["results"]} == set(
        Inquiry.objects.values_list("pk", flat=True)
    )
    whole = client.get("/api/inquiries/?page_size=3").json()
    assert (whole["count"], len(whole["results"]), whole["next"]) == (3, 3, None)
    assert client.get("/api/inquiries/?page_size=2&page=3").status_code == 404


def test_a_queue_that_fits_one_page_is_counted_without_a_count_query(api_as, coordinator, section):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        InquiryFactory(section=section)
    client = api_as(coordinator)
    with CaptureQueriesContext(connection) as short:
        body = client.get("/api/inquiries/?open=true").json()
    assert (body["count"], len(body["results"]), body["next"]) == (3, 3, None)
    assert not [q for q in short.captured_queries if "COUNT(" in q["sql"]]
    with CaptureQueriesContext(connection) as longer:
        body = client.get("/api/inquiries/?open=true&page_size=2").json()
    assert body["count"] == 3
    assert [q for q in longer.captured_queries if "COUNT(" in q["sql"]]


def test_other_sections_inquiries_are_invisible(api_as, coordinator, other_section):
    foreign = InquiryFactory(section=other_section)
    client = api_as(coordinator)
    assert client.get("/api/inquiries/").json()["count"] == 0
    assert client.get(f"/api/inquiries/{foreign.pk}/").status_code == 404
    assert client.post(f"/api/inquiries/{foreign.pk}/claim/", {}, format="json").status_code == 404
    foreign.refresh_from_db()
    assert foreign.claimed_by is None


def test_claim_then_a_second_coordinator_is_refused_with_409(
    api_as, coordinator, coordinator2, section
):
    inquiry = InquiryFactory(section=section)
    first = api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    assert first.status_code == 200
    assert first.json()["status"] == "in_progress"
    assert first.json()["claimed_by"]["id"] == coordinator.pk
    second = api_as(coordinator2).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    assert second.status_code == 409
    assert error_code(second) == "already_claimed"
    assert "Kari Nordmann" in second.json()["error"]["message"]
    inquiry.refresh_from_db()
    assert inquiry.claimed_by == coordinator


def test_after_release_another_coordinator_may_claim(api_as, coordinator, coordinator2, section):
    inquiry = InquiryFactory(section=section)
    api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    released = api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/release/", {}, format="json")
    assert released.status_code == 200
    assert released.json()["status"] == "new"
    assert released.json()["claimed_by"] is None
    again = api_as(coordinator2).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    assert again.status_code == 200


def test_only_the_claimant_or_a_lead_may_release(api_as, coordinator, coordinator2, lead, section):
    inquiry = InquiryFactory(section=section)
    api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    refused = api_as(coordinator2).post(f"/api/inquiries/{inquiry.pk}/release/", {}, format="json")
    assert refused.status_code == 409
    assert error_code(refused) == "not_claimant"
    assert (
        api_as(lead).post(f"/api/inquiries/{inquiry.pk}/release/", {}, format="json").status_code
        == 200
    )


def test_the_claimant_hands_an_inquiry_over(api_as, coordinator, coordinator2, section):
    inquiry = InquiryFactory(section=section)
    client = api_as(coordinator)
    client.post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    handed = client.post(
        f"/api/inquiries/{inquiry.pk}/claim/", {"to": coordinator2.pk}, format="json"
    )
    assert handed.status_code == 200
    assert handed.json()["claimed_by"]["id"] == coordinator2.pk


def test_a_lead_takes_over_a_claimed_inquiry(api_as, coordinator, lead, section):
    inquiry = InquiryFactory(section=section)
    api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    taken = api_as(lead).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    assert taken.status_code == 200
    assert taken.json()["claimed_by"]["id"] == lead.pk


def test_an_inquiry_cannot_be_handed_to_a_secretary(api_as, coordinator, secretary, section):
    inquiry = InquiryFactory(section=section)
    response = api_as(coordinator).post(
        f"/api/inquiries/{inquiry.pk}/claim/", {"to": secretary.pk}, format="json"
    )
    assert response.status_code == 400
    inquiry.refresh_from_db()
    assert inquiry.claimed_by is None


def test_claiming_a_closed_inquiry_is_a_409_in_the_error_shape(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section, status="closed")
    response = api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "invalid_transition"
    assert body["message"] == "Henvendelsen er lukket."


@pytest.mark.parametrize("role", ["secretary", "doctor"])
def test_secretaries_and_doctors_cannot_claim_or_close(api_as, make_user, section, role):
    inquiry = InquiryFactory(section=section)
    client = api_as(make_user(role))
    assert client.post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json").status_code == 403
    closed = client.post(f"/api/inquiries/{inquiry.pk}/close/", {"resolution": "ok"}, format="json")
    assert closed.status_code == 403
    inquiry.refresh_from_db()
    assert inquiry.status == "new"


def test_notes_go_on_the_timeline_with_author(api_as, doctor, section):
    inquiry = InquiryFactory(section=section)
    response = api_as(doctor).post(
        f"/api/inquiries/{inquiry.pk}/notes/",
        {"text": "Ring meg om feberen stiger."},
        format="json",
    )
    assert response.status_code == 201
    entries = response.json()["entries"]
    assert entries[-1]["kind"] == "note"
    assert entries[-1]["text"] == "Ring meg om feberen stiger."
    assert entries[-1]["author"]["id"] == doctor.pk


def test_an_empty_note_is_refused(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section)
    response = api_as(coordinator).post(
        f"/api/inquiries/{inquiry.pk}/notes/", {"text": "  "}, format="json"
    )
    assert response.status_code == 400
    assert not TimelineEntry.objects.filter(inquiry=inquiry).exists()


def test_close_needs_a_resolution_and_records_it(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section)
    client = api_as(coordinator)
    assert client.post(f"/api/inquiries/{inquiry.pk}/close/", {}, format="json").status_code == 400
    response = client.post(
        f"/api/inquiries/{inquiry.pk}/close/", {"resolution": "Ny time avtalt."}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed"
    assert body["resolution"] == "Ny time avtalt."
    assert body["closed_at"]


def test_someone_elses_claimed_inquiry_cannot_be_closed(api_as, coordinator, coordinator2, section):
    inquiry = InquiryFactory(section=section)
    api_as(coordinator).post(f"/api/inquiries/{inquiry.pk}/claim/", {}, format="json")
    response = api_as(coordinator2).post(
        f"/api/inquiries/{inquiry.pk}/close/", {"resolution": "?"}, format="json"
    )
    assert response.status_code == 409


def test_an_inquiry_waiting_for_a_doctor_cannot_be_closed(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section, status="awaiting_doctor")
    response = api_as(coordinator).post(
        f"/api/inquiries/{inquiry.pk}/close/", {"resolution": "?"}, format="json"
    )
    assert response.status_code == 409
    assert error_code(response) == "invalid_transition"


def test_detail_has_the_timeline_in_order(api_as, coordinator, section):
    client = api_as(coordinator)
    created = log_call(client).json()
    client.post(f"/api/inquiries/{created['id']}/claim/", {}, format="json")
    client.post(
        f"/api/inquiries/{created['id']}/notes/", {"text": "Ringte tilbake."}, format="json"
    )
    detail = client.get(f"/api/inquiries/{created['id']}/").json()
    assert [e["kind"] for e in detail["entries"]] == ["created", "claimed", "note"]


def test_every_read_and_write_is_audited_and_a_lead_can_list_by_patient_and_user(
    api_as, coordinator, lead, section
):
    patient = PatientFactory(section=section)
    client = api_as(coordinator)
    created = log_call(client, patient=patient.pk).json()
    client.get(f"/api/inquiries/{created['id']}/")
    client.get("/api/inquiries/")
    actions = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))
    assert {"inquiry.create", "inquiry.read", "inquiry.list"} <= actions

    by_patient = api_as(lead).get(f"/api/audit/?patient={patient.pk}")
    assert by_patient.status_code == 200
    assert {row["action"] for row in by_patient.json()["results"]} >= {"inquiry.read"}
    by_user = api_as(lead).get(f"/api/audit/?user={coordinator.username}").json()
    assert by_user["count"] >= 3
    assert all(row["username"] == coordinator.username for row in by_user["results"])


def test_only_leads_read_the_audit_log(api_as, coordinator):
    assert api_as(coordinator).get("/api/audit/").status_code == 403


def test_a_change_is_stored_as_an_event_with_the_next_seq_and_broadcast_after_commit(
    api_as, coordinator, section, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from core.realtime import queue_group

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(queue_group(section.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            created = log_call(api_as(coordinator)).json()
        assert len(callbacks) == 1
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(queue_group(section.pk), channel)
    event = message["event"]
    assert event["type"] == "inquiry.created"
    assert event["inquiry"]["id"] == created["id"]
    stored = Event.objects.get(section=section)
    assert stored.seq == event["seq"] == 1
    section.refresh_from_db()
    assert section.last_seq == 1
