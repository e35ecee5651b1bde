"""Demo data for `make run`: one section, the demo users, a few patients and inquiries.

Idempotent: running it again changes nothing that is already there. Refuses outside demo mode,
because the demo users share a known password.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from core import roles
from core.models import Membership, Section, UserProfile

DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only, refused elsewhere

USERS = [
    # username, first, last, role, phone, title
    ("koordinator1", "Kari", "Nordmann", roles.COORDINATOR, "", "Forløpskoordinator"),
    ("koordinator2", "Ola", "Hansen", roles.COORDINATOR, "", "Forløpskoordinator"),
    ("sekretaer1", "Siri", "Berg", roles.SECRETARY, "", "Postsekretær"),
    ("lege1", "Lars", "Lege", roles.DOCTOR, "+4790000101", "Postansvarlig lege"),
    ("lege2", "Liv", "Onkolog", roles.DOCTOR, "+4790000102", "Pasientansvarlig lege"),
    ("leder1", "Lise", "Leder", roles.LEAD, "", "Seksjonsleder"),
]

PATIENTS = [
    # first, last, birth date, diagnosis, protocol, contacts (name, relation, phone, language)
    (
        "Emma",
        "Johansen",
        dt.date(2017, 3, 14),
        "Akutt lymfatisk leukemi (ALL)",
        "ALLTogether1",
        [
            ("Ingrid Johansen", "mother", "+4791000001", "nb"),
            ("Per Johansen", "father", "+4791000002", "nb"),
        ],
    ),
    (
        "Noah",
        "Larsen",
        dt.date(2012, 9, 2),
        "Osteosarkom",
        "EURAMOS-basert",
        [("Marte Larsen", "mother", "+4791000003", "nn")],
    ),
    (
        "Sara",
        "Ahmed",
        dt.date(2008, 1, 27),
        "Hodgkin lymfom",
        "EuroNet-PHL-C2",
        [
            ("Sara Ahmed", "patient", "+4791000004", "nb"),
            ("Amina Ahmed", "mother", "+4791000005", "en"),
        ],
    ),
    (
        "Jakob",
        "Pedersen",
        dt.date(2020, 6, 30),
        "Nevroblastom",
        "HR-NBL2",
        [("Tone Pedersen", "guardian", "+4791000006", "nb")],
    ),
]


def demo_national_id(birth_date: dt.date) -> str:
    """A valid fødselsnummer for the date (the first individual number whose checks work)."""
    from henvendelser.validators import national_id_check_digits

    prefix = birth_date.strftime("%d%m%y")
    start = 500 if birth_date.year >= 2000 else 0
    for individual in range(start, start + 500):
        digits = national_id_check_digits(f"{prefix}{individual:03d}")
        if digits is not None:
            return f"{prefix}{individual:03d}{digits[0]}{digits[1]}"
    raise ValueError(f"no national id for {birth_date}")


class Command(BaseCommand):
    help = "Legg inn demodata (bare i demomodus)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-demo",
            action="store_true",
            help="Outside demo mode, say so and do nothing (for `make run` in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            if options["if_demo"]:
                self.stdout.write("Ikke demomodus: hopper over demodata.")
                return
            raise CommandError("seed_demo runs only in demo mode (no SECRET_KEY set).")
        with transaction.atomic():
            section = self._section()
            users = self._users(section)
            patients = self._patients(section, users)
            self._roster(section, users)
            self._messaging()
        self._inquiries(section, users, patients)
        self._follow_up(users, patients[0])
        self.stdout.write(self.style.SUCCESS("Demodata klar. Brukere (passord «demo»):"))
        for username, first, last, role, _phone, title in USERS:
            self.stdout.write(f"  {username:<13} {first} {last}, {title} ({role})")

    def _messaging(self) -> None:
        """The seed message templates and a demo directory of municipal cancer coordinators."""
        import json
        from pathlib import Path

        import meldinger
        from meldinger.models import MunicipalCoordinator

        from maler.services import load_seed_templates

        load_seed_templates()
        path = Path(meldinger.__file__).parent / "seed" / "municipal_coordinators.json"
        for row in json.loads(path.read_text(encoding="utf-8"))["coordinators"]:
            MunicipalCoordinator.objects.get_or_create(
                municipality_number=row["municipality_number"], defaults=row
            )

    def _follow_up(self, users: dict[str, Any], patient: Any) -> None:
        """Emma's Pakkeforløp hjem plan, from a diagnosis three weeks ago (on her inquiry page)."""
        from meldinger import plans
        from meldinger.models import FollowUpPlan, MunicipalCoordinator

        if FollowUpPlan.objects.filter(patient=patient).exists():
            return
        plans.create_plan(
            patient=patient,
            contact=patient.contacts.order_by("pk").first(),
            start_date=timezone.localdate() - dt.timedelta(weeks=3),
            municipality=MunicipalCoordinator.objects.get(municipality_number="0301"),
            by=users["koordinator1"],
        )

    def _section(self) -> Section:
        section, _ = Section.objects.get_or_create(
            slug="barneonkologi-demo",
            defaults={
                "name": "Barneonkologisk seksjon (demo)",
                "phone_number": settings.TWILIO_FROM_NUMBER or None,
                "ward_phone": "+4722000000",
            },
        )
        return section

    def _users(self, section: Section) -> dict[str, Any]:
        user_model = get_user_model()
        users = {}
        for username, first, last, role, phone, title in USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            Membership.objects.get_or_create(user=user, section=section)
            UserProfile.objects.get_or_create(user=user, defaults={"phone": phone, "title": title})
            users[username] = user
        return users

    def _roster(self, section: Section, users: dict[str, Any]) -> None:
        from eskalering.models import RosterShift

        if RosterShift.objects.filter(section=section).exists():
            return
        # Whole days from midnight Oslo time, so the week view reads "hele døgnet".
        start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        start -= dt.timedelta(days=1)
        for username, role in (("lege1", "ward_doctor"), ("lege2", "on_call")):
            RosterShift.objects.create(
                section=section,
                role=role,
                doctor=users[username],
                starts_at=start,
                ends_at=start + dt.timedelta(days=60),
            )

    def _patients(self, section: Section, users: dict[str, Any]) -> list[Any]:
        from henvendelser.models import Contact, Patient

        patients = []
        for first, last, birth, diagnosis, protocol, contacts in PATIENTS:
            patient, created = Patient.objects.get_or_create(
                section=section,
                national_id=demo_national_id(birth),
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "birth_date": birth,
                    "diagnosis": diagnosis,
                    "protocol": protocol,
                    "responsible_doctor": users["lege2"],
                },
            )
            if created:
                for name, relation, phone, language in contacts:
                    Contact.objects.create(
                        patient=patient,
                        name=name,
                        relation=relation,
                        phone=phone,
                        language=language,
                        sms_consent=True,
                        sms_consent_at=timezone.now(),
                        sms_consent_by=users["koordinator1"],
                    )
            patients.append(patient)
        return patients

    def _inquiries(self, section: Section, users: dict[str, Any], patients: list[Any]) -> None:
        from henvendelser import services
        from henvendelser.models import Inquiry

        if Inquiry.objects.filter(section=section).exists():
            return
        now = timezone.now()
        coordinator = users["koordinator1"]
        services.receive_sms(
            message_sid="SMdemo0000000000000000000000000001",
            from_phone="+4791000001",
            to_phone=section.phone_number or "",
            now=now - dt.timedelta(minutes=12),
            body="Hei, Emma har 38,4 i feber og er slapp. Fikk cellegift på mandag.",
        )
        services.receive_sms(
            message_sid="SMdemo0000000000000000000000000002",
            from_phone="+4791000006",
            to_phone=section.phone_number or "",
            now=now - dt.timedelta(minutes=40),
            body="Kan vi flytte timen til Jakob på torsdag til litt senere på dagen?",
        )
        services.receive_sms(
            message_sid="SMdemo0000000000000000000000000003",
            from_phone="+4798765432",
            to_phone=section.phone_number or "",
            now=now - dt.timedelta(minutes=5),
            body="Hei, jeg er bestemor til en pasient. Hvor parkerer vi?",
        )
        services.receive_call(
            call_sid="CAdemo0000000000000000000000000001",
            from_phone="+4791000003",
            to_phone=section.phone_number or "",
            answerable=False,
            now=now - dt.timedelta(minutes=25),
        )
        logged = services.log_inquiry(
            by=users["sekretaer1"],
            channel="phone",
            section_id=section.pk,
            patient=patients[2],
            caller_phone="+4791000004",
            summary="Lurer på når neste blodprøve er.",
            category="appointment",
            now=now - dt.timedelta(hours=2),
        )
        services.claim_inquiry(inquiry_id=logged.pk, by=coordinator)
        services.add_note(
            inquiry_id=logged.pk, by=coordinator, text="Sjekker timeboka og ringer tilbake i dag."
        )
        closed = services.log_inquiry(
            by=coordinator,
            channel="phone",
            section_id=section.pk,
            patient=patients[0],
            caller_phone="+4791000002",
            summary="Spørsmål om reiseregning.",
            category="logistics",
            now=now - dt.timedelta(days=1),
        )
        services.claim_inquiry(inquiry_id=closed.pk, by=coordinator)
        services.close_inquiry(
            inquiry_id=closed.pk,
            by=coordinator,
            resolution="Forklarte hvordan reiseregning sendes til Pasientreiser.",
        )
