"""The family's secure page, `/m/<token>`: date of birth first, expiry, lockout, audit."""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from meldinger.models import Message, SecureLink

from core.models import AuditEvent

RESULTS = {
    "template": "provesvar_klare",
    "language": "nb",
    "variables": {
        "dato": "1. desember",
        "svar": "Alle verdiene er normale.",
        "telefon": "22 00 00 00",
    },
}


@pytest.fixture
def tokens(monkeypatch):
    """The secure-link tokens made, as the family's SMS carries them (the service keeps only
    their hashes once the SMS has gone)."""
    from meldinger import securelinks

    made = []
    original = securelinks.new_token

    def recording():
        made.append(original())
        return made[-1]

    monkeypatch.setattr(securelinks, "new_token", recording)
    return made


@pytest.fixture
def link(reply, tokens, django_capture_on_commit_callbacks):
    """The path of the secure link in the SMS that was sent."""
    with django_capture_on_commit_callbacks(execute=True):
        reply(RESULTS)
    return f"/m/{tokens[-1]}"


def test_once_the_sms_has_gone_the_token_is_kept_nowhere_in_plain_text(fake_twilio, link, mother):
    token = link.rsplit("/", 1)[1]
    [sent] = fake_twilio.sent_to(mother.phone)
    assert token in sent["body"]  # the family has it
    message = Message.objects.get()
    assert message.status == "sent"
    assert token not in message.body and "/m/[token]" in message.body
    assert SecureLink.objects.get().token_hash != token


def dob(day=14, month=3, year=2017):
    return {"day": str(day), "month": str(month), "year": str(year)}


def test_the_token_is_long_and_random(link):
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 32  # 24 random bytes, base64url: 192 bits
    assert SecureLink.objects.get().token_hash != token


def test_the_page_asks_for_the_date_of_birth_without_showing_anything(client, link):
    response = client.get(link)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alle verdiene" not in html
    assert '<form method="post"' in html and 'name="year"' in html
    assert "<script" not in html  # readable without JavaScript
    assert response["Referrer-Policy"] == "same-origin"  # the token never leaves the site


def test_the_right_date_of_birth_shows_the_message_and_is_audited(client, link):
    response = client.post(link, dob())
    assert response.status_code == 303
    page = client.get(link)
    assert "Alle verdiene er normale." in page.content.decode()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"securelink.opened", "securelink.viewed"} <= actions
    assert SecureLink.objects.get().open_count == 1


def test_five_wrong_answers_lock_the_link(client, link):
    for left in (4, 3, 2, 1):
        response = client.post(link, dob(day=15))
        assert response.status_code == 400
        assert f"{left} forsøk igjen" in response.content.decode()
    response = client.post(link, dob(day=15))
    assert response.status_code == 410
    assert "sperret" in response.content.decode()
    # Even the right answer is refused now.
    assert client.post(link, dob()).status_code == 410
    assert AuditEvent.objects.filter(action="securelink.failed").count() == 5
    assert AuditEvent.objects.filter(action="securelink.locked").count() == 1
    assert AuditEvent.objects.filter(action="securelink.refused").count() >= 1


def test_the_link_expires_after_seven_days(client, link):
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        response = client.post(link, dob())
    assert response.status_code == 410
    assert "utløpt" in response.content.decode()


def test_an_unknown_token_is_404_and_says_so_plainly(client):
    response = client.get("/m/" + "A" * 32)
    assert response.status_code == 404
    assert "Ring kontaktpunktet" in response.content.decode()


def test_the_page_is_in_the_contacts_language(
    client, reply, tokens, mother, inquiry, django_capture_on_commit_callbacks
):
    mother.language = "en"
    mother.save()
    with django_capture_on_commit_callbacks(execute=True):
        message = Message.objects.get(pk=reply({**RESULTS, "language": "en"}).json()["id"])
    path = f"/m/{tokens[-1]}"
    assert "Read it securely here" in message.body
    html = client.get(path).content.decode()
    assert "date of birth" in html and 'lang="en"' in html


def test_the_family_answers_on_the_page_and_the_answer_joins_the_inquiry(client, link, inquiry):
    client.post(link, dob())
    response = client.post(
        link, {"reply": "Takk! Hun har hatt litt feber i kveld, 38,6."}, follow=True
    )
    assert response.redirect_chain == [(link, 303)]
    assert "svaret ditt er sendt" in response.content.decode()
    inquiry.refresh_from_db()
    entry = inquiry.entries.get(kind="web_in")
    assert entry.text.startswith("Takk! Hun har hatt litt feber")
    assert inquiry.status == "in_progress"  # re-opened for the coordinator who answered
    assert inquiry.alarm  # the alarm screen reads page answers too


def test_no_answer_without_the_date_of_birth(client, link, inquiry):
    response = client.post(link, {"reply": "Hei"})
    assert response.status_code == 302
    assert not inquiry.entries.filter(kind="web_in").exists()


def test_a_server_error_on_the_secure_page_does_not_log_the_token(link, monkeypatch, caplog):
    """Django logs the path of a request that failed; the path holds the token."""
    from django.test import Client
    from meldinger import pages

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(pages.securelinks, "find", broken)
    token = link.rsplit("/", 1)[1]
    response = Client(raise_request_exception=False).get(link)
    assert response.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/m/[token]" in logged
    assert token not in logged


def reply_key_of(page):
    return re.search(r'name="reply_key" value="([0-9a-f]{32})"', page.content.decode())[1]


def test_a_reload_after_sending_posts_nothing_and_a_double_click_stores_one_answer(
    client, link, inquiry
):
    client.post(link, dob())
    key = reply_key_of(client.get(link))
    answer = {"reply": "Hun har det bra nå.", "reply_key": key}
    first = client.post(link, answer)
    again = client.post(link, answer)  # the second click of a double click: the same form
    assert (first.status_code, again.status_code) == (303, 303)
    # The thanks shows once, on the page the redirect leads to; a reload is a plain GET.
    assert "svaret ditt er sendt" in client.get(link).content.decode()
    assert "svaret ditt er sendt" not in client.get(link).content.decode()
    assert inquiry.entries.filter(kind="web_in").count() == 1
    # A new form (a new key) is a new answer.
    client.post(link, {"reply": "Og en ting til.", "reply_key": reply_key_of(client.get(link))})
    assert inquiry.entries.filter(kind="web_in").count() == 2


@pytest.mark.parametrize(
    "typed", [dob(day=31, month=2), dob(day="x"), dob(year=99999999999999999999)]
)
def test_a_date_that_does_not_exist_costs_no_attempt(client, link, typed):
    response = client.post(link, typed)
    assert response.status_code == 400
    assert "Den datoen finnes ikke" in response.content.decode()
    assert SecureLink.objects.get().failed_attempts == 0
    assert not AuditEvent.objects.filter(action="securelink.failed").exists()


def test_the_locked_page_gives_the_number_to_call(client, link, section):
    for _ in range(5):
        response = client.post(link, dob(day=15))
    assert response.status_code == 410
    html = response.content.decode()
    assert f'href="tel:{section.phone_number}"' in html


def test_the_sms_tells_the_link_life_the_service_is_configured_with(
    reply, settings, django_capture_on_commit_callbacks
):
    settings.SECURE_LINK_DAYS = 3
    with django_capture_on_commit_callbacks(execute=True):
        message = Message.objects.get(pk=reply(RESULTS).json()["id"])
    assert "(lenken virker i 3 dager)" in message.body
    link = SecureLink.objects.get(message=message)
    assert (link.expires_at - message.created_at).days == 3


def test_staff_see_whether_the_link_was_read_or_locked_but_never_the_token(
    client, link, api_as, coordinator
):
    message_id = SecureLink.objects.get().message_id
    read = api_as(coordinator).get(f"/api/messages/{message_id}/").json()
    assert read["secure_link"]["state"] == "sent"
    client.post(link, dob())
    read = api_as(coordinator).get(f"/api/messages/{message_id}/").json()
    assert read["secure_link"]["state"] == "opened"
    assert read["secure_link"]["opened_at"]
    assert link.rsplit("/", 1)[1] not in str(read["secure_link"])
    assert link.rsplit("/", 1)[1] not in str(read)  # nor in the body: /m/[token]


def lock(client, link):
    for _ in range(5):
        client.post(link, dob(day=15))
    assert client.post(link, dob()).status_code == 410


def test_a_locked_link_is_reissued_once_with_a_new_link_that_opens(
    fake_twilio, client, link, api_as, coordinator, mother, django_capture_on_commit_callbacks
):
    original = SecureLink.objects.get().message_id
    api = api_as(coordinator)
    early = api.post(f"/api/messages/{original}/reissue/", HTTP_IDEMPOTENCY_KEY="x")
    assert early.status_code == 409  # still usable: nothing to re-issue
    assert early.json()["error"]["fields"] == {"secure_link": ["still_usable"]}

    lock(client, link)
    assert api.get(f"/api/messages/{original}/").json()["secure_link"]["state"] == "locked"
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/messages/{original}/reissue/", HTTP_IDEMPOTENCY_KEY="r-1")
        again = api.post(f"/api/messages/{original}/reissue/", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["secure_link"]["state"] == "sent"
    assert Message.objects.count() == 2

    sent = fake_twilio.sent_to(mother.phone)
    assert len(sent) == 2  # the first SMS and the one re-issue, not two
    new_path = re.search(r"(/m/[A-Za-z0-9_-]+)", sent[-1]["body"])[1]
    assert new_path != link
    assert client.post(new_path, dob()).status_code == 303
    assert "Alle verdiene er normale." in client.get(new_path).content.decode()
    assert client.post(link, dob()).status_code == 410  # the old one stays locked
    assert AuditEvent.objects.filter(action="message.reissue_link").count() == 1
    twice = api.post(f"/api/messages/{original}/reissue/", HTTP_IDEMPOTENCY_KEY="r-2")
    assert twice.status_code == 409  # a second re-issue of the same message: use the new one
    assert twice.json()["error"]["fields"] == {"secure_link": ["already_reissued"]}
    inquiry_id = Message.objects.get(pk=original).inquiry_id
    listed = api.get(f"/api/inquiries/{inquiry_id}/messages/").json()["results"]
    assert [m["may_reissue"] for m in listed] == [False, False]
    inquiry_entries = Message.objects.get(pk=first.json()["id"]).inquiry.entries
    assert inquiry_entries.filter(kind="sms_out", data__reissue_of=original).count() == 1


def test_only_the_coordinators_side_reissues_and_only_in_their_section(
    client, link, api_as, secretary, other_section
):
    from tests.factories import UserFactory

    original = SecureLink.objects.get().message_id
    lock(client, link)
    # A result is medical: the secretary may not send it again.
    assert api_as(secretary).post(f"/api/messages/{original}/reissue/").status_code == 403
    stranger = UserFactory(role="coordinator", sections=[other_section])
    assert api_as(stranger).post(f"/api/messages/{original}/reissue/").status_code == 404
    assert Message.objects.count() == 1
