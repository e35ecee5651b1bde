"""The hand-written statements on every request's path (core.sql) give the same instances the
ORM gives: every field, of every type (datetimes, JSON, nulls), on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import sql
from core.auth import token_with_user
from core.models import AuditEvent, Section
from henvendelser.services.intake import section_for_number

pytestmark = pytest.mark.django_db


def fields_of(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_token_and_its_user_are_what_the_orm_reads(coordinator):
    coordinator.last_login = timezone.now() - dt.timedelta(hours=3)
    coordinator.save()
    key = Token.objects.create(user=coordinator).key
    token = token_with_user(key)
    assert fields_of(token) == fields_of(Token.objects.get(key=key))
    assert fields_of(token.user) == fields_of(get_user_model().objects.get(pk=coordinator.pk))
    assert isinstance(token.user.date_joined, dt.datetime)
    assert token_with_user("x" * 40) is None


def test_the_section_for_a_number_is_what_the_orm_reads(section):
    section.opening_hours = {"weekdays": [1, 2], "opens": "09:00", "closes": "15:00"}
    section.ward_phone = "+4722000000"
    section.save()
    found = section_for_number(section.phone_number)
    assert fields_of(found) == fields_of(Section.objects.get(pk=section.pk))
    assert found.opening_hours["opens"] == "09:00"


def test_an_inserted_audit_record_reads_back_as_written(coordinator):
    event = AuditEvent(
        at=timezone.now(),
        user=coordinator,
        username=coordinator.username,
        action="inquiry.list",
        object_type="inquiry",
        patients=",1,2,",
        section_id=7,
        channel="api",
        ip="127.0.0.1",
        detail={"objects": ["1", "2"]},
    )
    sql.insert(event)
    assert event.pk is not None and not event._state.adding
    assert fields_of(AuditEvent.objects.get(pk=event.pk)) == fields_of(event)
