"""factory_boy factories for the domain. Phone numbers and national ids are valid by default."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.utils import timezone

from core.models import Membership, Section
from henvendelser.models import Contact, Inquiry, Patient
from henvendelser.validators import national_id_check_digits

ALWAYS_OPEN = {
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "opens": "00:00",
    "closes": "23:59",
    "public_holidays": "open",
}


def valid_national_id(birth_date: dt.date, start: int = 500) -> str:
    prefix = birth_date.strftime("%d%m%y")
    for individual in range(start, 1000):
        digits = national_id_check_digits(f"{prefix}{individual:03d}")
        if digits is not None:
            return f"{prefix}{individual:03d}{digits[0]}{digits[1]}"
    raise ValueError(birth_date)


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    slug = factory.Sequence(lambda n: f"seksjon-{n}")
    name = factory.Sequence(lambda n: f"Barneonkologi {n}")
    phone_number = factory.Sequence(lambda n: f"+475944{n:04d}")
    ward_phone = "+4722000000"


# Every test user's password is "pw". Hashed once, with few PBKDF2 rounds, so making a user
# costs no key stretching (Django verifies any round count, and re-hashes at full strength on
# a real login); the service itself hashes at Django's full strength.
TEST_PASSWORD_HASH = PBKDF2PasswordHasher().encode("pw", "kontaktpunkt-test", iterations=1000)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"bruker{n}")
    first_name = factory.Faker("first_name", locale="no_NO")
    last_name = factory.Faker("last_name", locale="no_NO")
    password = TEST_PASSWORD_HASH

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        self.save()

    @factory.post_generation
    def sections(self, create: bool, extracted: list[Section] | None, **kwargs: Any) -> None:
        for section in extracted or []:
            Membership.objects.create(user=self, section=section)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    section = factory.SubFactory(SectionFactory)
    first_name = factory.Faker("first_name", locale="no_NO")
    last_name = factory.Faker("last_name", locale="no_NO")
    birth_date = factory.Sequence(lambda n: dt.date(2012, 1, 1) + dt.timedelta(days=n))
    national_id = factory.LazyAttribute(lambda p: valid_national_id(p.birth_date))
    diagnosis = "Akutt lymfatisk leukemi"
    protocol = "ALLTogether1"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    patient = factory.SubFactory(PatientFactory)
    name = factory.Faker("name", locale="no_NO")
    relation = "mother"
    phone = factory.Sequence(lambda n: f"+479{n:07d}")
    language = "nb"
    sms_consent = True


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry

    section = factory.SubFactory(SectionFactory)
    channel = "phone"
    summary = "Spørsmål om timen"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda i: i.created_at)
