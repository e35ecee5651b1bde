"""The patients, contacts and inquiries API (DESIGN.md §9). Views validate, call one service or
selector, audit what they hand out, and shape the output."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit, roles, sql
from core.access import Action
from core.api import Pagination, StrictInputSerializer, id_field, validated
from core.exceptions import InvalidInput
from core.models import Section
from core.schema import paginated

from . import selectors, services
from .models import (
    Category,
    Channel,
    Contact,
    Grade,
    InboundText,
    Inquiry,
    Language,
    Patient,
    Relation,
    Status,
)
from .serializers import InquiryDetailSerializer, InquiryRowSerializer
from .services import inbox
from .validators import normalise_phone, validate_national_id


def _django_validator(func: Any) -> Any:
    """Use a Django validator (raising django's ValidationError) in a DRF field."""

    def run(value: Any) -> Any:
        from django.core.exceptions import ValidationError as DjangoValidationError

        try:
            return func(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None

    return run


class PhoneField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return value
        return str(_django_validator(normalise_phone)(value))


class NationalIdField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 11)
        kwargs.setdefault("min_length", 11)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).replace(" ", "")
        return str(_django_validator(validate_national_id)(value))


class ByMethod(BasePermission):
    """Route to the permission classes the view declares for the request's method."""

    def has_permission(self, request: Request, view: Any) -> bool:
        classes = view.permissions_by_method.get(request.method, [])
        if request.method == "HEAD":
            classes = view.permissions_by_method.get("GET", [])
        return all(cls().has_permission(request, view) for cls in classes) and bool(classes)


def section_for_write(user: Any, section_id: int | None) -> Section:
    return sql.get(Section, section_id_for_write(user, section_id))


def section_id_for_write(user: Any, section_id: int | None) -> int:
    """The section a user writes in: the one asked for if it is theirs, or their only one."""
    allowed = roles.user_section_ids(user)
    if section_id is None:
        if len(allowed) != 1:
            raise InvalidInput(
                _("Velg seksjon."), fields={"section": [_("Må oppgis når du har flere seksjoner.")]}
            )
        section_id = allowed[0]
    if section_id not in allowed:
        raise InvalidInput(
            _("Du har ikke tilgang til denne seksjonen."),
            fields={"section": [_("Ikke din seksjon.")]},
        )
    return section_id


def _audit_patient_reads(request: Request, action: str, patients: list[Patient]) -> None:
    audit.record_reads(
        user=request.user,
        action=action,
        objects=patients,
        patient_of=lambda p: p.pk,
        section_of=lambda p: p.section_id,
    )


def _audit_inquiry_reads(request: Request, action: str, inquiries: list[Inquiry]) -> None:
    audit.record_reads(
        user=request.user,
        action=action,
        objects=inquiries,
        patient_of=lambda i: i.patient_id,
        section_of=lambda i: i.section_id,
    )


# --- Patients --------------------------------------------------------------------------------


class PatientOutputSerializer(serializers.ModelSerializer):
    national_id = serializers.CharField(source="national_id_masked")

    class Meta:
        model = Patient
        fields = [
            "id",
            "section",
            "first_name",
            "last_name",
            "birth_date",
            "national_id",
            "responsible_doctor",
            "diagnosis",
            "protocol",
            "created_at",
            "updated_at",
        ]


def _doctor_queryset() -> QuerySet[Any]:
    return get_user_model().objects.filter(groups__name=roles.DOCTOR)


class PatientListCreateApi(APIView):
    schema_responses = {
        "GET": paginated(PatientOutputSerializer, "PatientPage"),
        "POST": {"201": PatientOutputSerializer},
    }
    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.WRITE_PATIENT)],
    }

    class InputSerializer(StrictInputSerializer):
        section = id_field(required=False)
        first_name = serializers.CharField(max_length=100)
        last_name = serializers.CharField(max_length=100)
        birth_date = serializers.DateField()
        national_id = NationalIdField(required=False, allow_blank=True)
        responsible_doctor = serializers.PrimaryKeyRelatedField(
            queryset=_doctor_queryset(), required=False, allow_null=True
        )
        diagnosis = serializers.CharField(max_length=200, required=False, allow_blank=True)
        protocol = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get(self, request: Request) -> Response:
        qs = selectors.patients_for(request.user).order_by("last_name", "first_name", "pk")
        term = (request.query_params.get("search") or "").strip()[:100]
        if term:
            qs = selectors.search_patients(qs, term)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        _audit_patient_reads(request, "patient.list", page)
        return paginator.get_paginated_response(PatientOutputSerializer(page, many=True).data)

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        section = section_for_write(request.user, data.pop("section", None))
        patient = services.create_patient(by=request.user, section=section, **data)
        return Response(PatientOutputSerializer(patient).data, status=201)


class PatientDetailApi(APIView):
    schema_responses = {"GET": PatientOutputSerializer, "PATCH": PatientOutputSerializer}
    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "PATCH": [access.permission(Action.WRITE_PATIENT)],
    }

    class InputSerializer(StrictInputSerializer):
        first_name = serializers.CharField(max_length=100, required=False)
        last_name = serializers.CharField(max_length=100, required=False)
        birth_date = serializers.DateField(required=False)
        national_id = NationalIdField(required=False, allow_blank=True)
        responsible_doctor = serializers.PrimaryKeyRelatedField(
            queryset=_doctor_queryset(), required=False, allow_null=True
        )
        diagnosis = serializers.CharField(max_length=200, required=False, allow_blank=True)
        protocol = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        _audit_patient_reads(request, "patient.read", [patient])
        return Response(PatientOutputSerializer(patient).data)

    def patch(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        data = validated(self.InputSerializer, request.data)
        patient = services.update_patient(by=request.user, patient=patient, **data)
        return Response(PatientOutputSerializer(patient).data)


class ContactOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "patient",
            "name",
            "relation",
            "phone",
            "language",
            "sms_consent",
            "sms_consent_at",
            "opted_out",
        ]


class PatientContactsApi(APIView):
    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.WRITE_CONTACT)],
    }

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=200)
        relation = serializers.ChoiceField(choices=Relation.choices)
        phone = PhoneField()
        language = serializers.ChoiceField(choices=Language.choices, default=Language.NB)
        sms_consent = serializers.BooleanField(default=False)

    def get(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        contacts = list(selectors.contacts_of(patient))
        _audit_patient_reads(request, "contact.list", [patient])
        return Response(
            {
                "count": len(contacts),
                "next": None,
                "previous": None,
                "results": ContactOutputSerializer(contacts, many=True).data,
            }
        )

    def post(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        data = validated(self.InputSerializer, request.data)
        contact = services.add_contact(by=request.user, patient=patient, **data)
        return Response(ContactOutputSerializer(contact).data, status=201)


class ContactDetailApi(APIView):
    """`GET/PATCH /api/contacts/{id}/`: one contact; change any of the fields a contact is made
    with (recording consent to SMS, say)."""

    schema_responses = {"GET": ContactOutputSerializer, "PATCH": ContactOutputSerializer}

    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "PATCH": [access.permission(Action.WRITE_CONTACT)],
    }

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=200, required=False)
        relation = serializers.ChoiceField(choices=Relation.choices, required=False)
        phone = PhoneField(required=False)
        language = serializers.ChoiceField(choices=Language.choices, required=False)
        sms_consent = serializers.BooleanField(required=False)

    def _contact(self, request: Request, pk: int) -> Contact:
        return get_object_or_404(
            Contact.objects.select_related("patient").filter(
                patient__in=selectors.patients_for(request.user)
            ),
            pk=pk,
        )

    def get(self, request: Request, pk: int) -> Response:
        contact = self._contact(request, pk)
        _audit_patient_reads(request, "contact.read", [contact.patient])
        return Response(ContactOutputSerializer(contact).data)

    def patch(self, request: Request, pk: int) -> Response:
        contact = self._contact(request, pk)
        data = validated(self.InputSerializer, request.data)
        contact = services.update_contact(by=request.user, contact=contact, **data)
        return Response(ContactOutputSerializer(contact).data)


# --- Inquiries -------------------------------------------------------------------------------


def _multi_choice(choices: list[str]) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=choices), required=False)


class InquiryListCreateApi(APIView):
    schema_responses = {
        "GET": paginated(InquiryRowSerializer, "InquiryPage"),
        "POST": {"201": InquiryRowSerializer},
    }
    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.LOG_INQUIRY)],
    }

    class FilterSerializer(serializers.Serializer):
        status = _multi_choice(Status.values)
        grade = _multi_choice([*Grade.values, "none"])
        channel = _multi_choice(Channel.values)
        assigned_to = serializers.RegexField(r"^(me|none|\d+)$", required=False)
        patient = id_field(required=False)
        section = id_field(required=False)
        open = serializers.BooleanField(required=False, default=False)

    class InputSerializer(StrictInputSerializer):
        channel = serializers.ChoiceField(choices=Channel.choices)
        section = id_field(required=False)
        patient = id_field(required=False, allow_null=True)
        caller_phone = PhoneField(required=False, allow_blank=True)
        caller_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        summary = serializers.CharField(max_length=4000, required=False, allow_blank=True)
        category = serializers.ChoiceField(
            choices=Category.choices, required=False, allow_blank=True
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("patient") and not attrs.get("caller_phone"):
                raise serializers.ValidationError(
                    {"patient": [_("Oppgi pasient eller innringers telefonnummer.")]},
                    code="required",
                )
            return attrs

    def get(self, request: Request) -> Response:
        raw = {
            key: request.query_params.getlist(key)
            if key in {"status", "grade", "channel"}
            else request.query_params.get(key)
            for key in request.query_params
            if key not in {"page", "page_size"}
        }
        filters_data = validated(self.FilterSerializer, raw)
        qs = selectors.queue(
            user=request.user,
            section_id=filters_data.get("section"),
            status=filters_data.get("status"),
            grade=filters_data.get("grade"),
            channel=filters_data.get("channel"),
            assigned_to=filters_data.get("assigned_to"),
            patient=filters_data.get("patient"),
            open_only=filters_data.get("open", False),
        )
        paginator = Pagination()
        page = selectors.attach_escalations(
            # A prepared read slices and counts as a queryset does for the paginator.
            paginator.paginate_queryset(qs, request, view=self) or []  # type: ignore[arg-type]
        )
        _audit_inquiry_reads(request, "inquiry.list", page)
        return paginator.get_paginated_response(InquiryRowSerializer(page, many=True).data)

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        patient = None
        if data.get("patient"):
            patient = selectors.patients_for(request.user).filter(pk=data["patient"]).first()
            if patient is None:
                raise InvalidInput(
                    _("Fant ikke pasienten."), fields={"patient": [_("Fant ikke pasienten.")]}
                )
        section_id = (
            patient.section_id
            if patient
            else section_id_for_write(request.user, data.get("section"))
        )
        inquiry = services.log_inquiry(
            by=request.user,
            channel=data["channel"],
            section_id=section_id,
            patient=patient,
            caller_phone=data.get("caller_phone", ""),
            caller_name=data.get("caller_name", ""),
            summary=data.get("summary", ""),
            category=data.get("category", ""),
        )
        return Response(InquiryRowSerializer(inquiry).data, status=201)


class InquiryDetailApi(APIView):
    schema_responses = {"GET": InquiryDetailSerializer}
    permission_classes = [access.permission(Action.READ_QUEUE)]

    def get(self, request: Request, pk: int) -> Response:
        try:
            inquiry = selectors.inquiry_detail(user=request.user, inquiry_id=pk)
        except Inquiry.DoesNotExist:
            from rest_framework.exceptions import NotFound

            raise NotFound() from None
        _audit_inquiry_reads(request, "inquiry.read", [inquiry])
        return Response(InquiryDetailSerializer(inquiry, context={"user": request.user}).data)


def visible_inquiry_id(request: Request, pk: int) -> int:
    """404 for inquiries outside the user's sections, before any service runs."""
    if not selectors.inquiries_for(request.user).filter(pk=pk).exists():
        from rest_framework.exceptions import NotFound

        raise NotFound()
    return pk


def _detail_response(request: Request, inquiry_id: int) -> Response:
    inquiry = selectors.inquiry_detail(user=request.user, inquiry_id=inquiry_id)
    return Response(InquiryDetailSerializer(inquiry, context={"user": request.user}).data)


class InquiryClaimApi(APIView):
    schema_responses = {"POST": {"200": InquiryDetailSerializer}}
    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    class InputSerializer(StrictInputSerializer):
        to = serializers.PrimaryKeyRelatedField(
            queryset=get_user_model().objects.all(), required=False, allow_null=True
        )

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data or {})
        services.claim_inquiry(
            inquiry_id=visible_inquiry_id(request, pk), by=request.user, to=data.get("to")
        )
        return _detail_response(request, pk)


class InquiryReleaseApi(APIView):
    schema_responses = {"POST": {"200": InquiryDetailSerializer}}
    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    def post(self, request: Request, pk: int) -> Response:
        validated(StrictInputSerializer, request.data or {})
        services.release_inquiry(inquiry_id=visible_inquiry_id(request, pk), by=request.user)
        return _detail_response(request, pk)


class InquiryPatientApi(APIView):
    """`POST /api/inquiries/{id}/patient/`: link an unknown or ambiguous caller's inquiry to a
    patient (`patient`); with `save_number_as` (`name`, `relation`) the caller's number is
    saved as the patient's contact, so the next text from it is recognised."""

    schema_responses = {"POST": {"200": InquiryDetailSerializer}}

    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    class SaveNumberSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=200)
        relation = serializers.CharField(max_length=50)

    class InputSerializer(StrictInputSerializer):
        patient = id_field()
        save_number_as = serializers.DictField(required=False, allow_null=True)

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        patient = selectors.patients_for(request.user).filter(pk=data["patient"]).first()
        if patient is None:
            raise InvalidInput(
                _("Fant ikke pasienten."), fields={"patient": [_("Ukjent pasient.")]}
            )
        save_as = data.get("save_number_as")
        services.link_patient(
            inquiry_id=visible_inquiry_id(request, pk),
            by=request.user,
            patient=patient,
            save_number_as=validated(self.SaveNumberSerializer, save_as) if save_as else None,
        )
        return _detail_response(request, pk)


class InquiryNotesApi(APIView):
    schema_responses = {"POST": {"201": InquiryDetailSerializer}}
    permission_classes = [access.permission(Action.WRITE_NOTE)]

    class InputSerializer(StrictInputSerializer):
        text = serializers.CharField(max_length=10_000)

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        services.add_note(
            inquiry_id=visible_inquiry_id(request, pk), by=request.user, text=data["text"]
        )
        return Response(_detail_response(request, pk).data, status=201)


class InquiryCloseApi(APIView):
    schema_responses = {"POST": {"200": InquiryDetailSerializer}}
    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    class InputSerializer(StrictInputSerializer):
        resolution = serializers.CharField(max_length=4000)

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        services.close_inquiry(
            inquiry_id=visible_inquiry_id(request, pk),
            by=request.user,
            resolution=data["resolution"],
        )
        return _detail_response(request, pk)


# --- Texts the inbox set aside ---------------------------------------------------------------


class SetAsideTextSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundText
        fields = ["id", "section", "received_at", "from_phone", "body", "num_media", "failures"]
        read_only_fields = fields


class SetAsideTextsApi(APIView):
    """`GET /api/inbox/set-aside/?section=`: texts the workers gave up on after
    INBOX_MAX_ATTEMPTS failures, oldest first, for the coordinators to read and take in."""

    schema_responses = {"GET": paginated(SetAsideTextSerializer, "SetAsideTextPage")}
    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    class FilterSerializer(serializers.Serializer):
        section = id_field(required=False)

    def get(self, request: Request) -> Response:
        filters = validated(
            self.FilterSerializer,
            {k: v for k, v in request.query_params.items() if k not in {"page", "page_size"}},
        )
        if "section" in filters:
            access.require(request.user, Action.WORK_INQUIRY, filters["section"])
            texts = inbox.set_aside_in([filters["section"]])
        else:
            texts = inbox.set_aside_in(access.sections(request.user))
        paginator = Pagination()
        page: list[InboundText] = paginator.paginate_queryset(texts, request, view=self) or []
        audit.record_reads(
            user=request.user,
            action="inbound_text.list",
            objects=page,
            patient_of=lambda text: None,  # not known until taken in (the audit names the inquiry)
            section_of=lambda text: text.section_id,
        )
        return paginator.get_paginated_response(SetAsideTextSerializer(page, many=True).data)


class SetAsideTakeInApi(APIView):
    """`POST /api/inbox/set-aside/{id}/take-in/`: the text in the queue as a new inquiry, once."""

    schema_responses = {"POST": {"200": InquiryDetailSerializer}}
    permission_classes = [access.permission(Action.WORK_INQUIRY)]

    def post(self, request: Request, pk: int) -> Response:
        validated(StrictInputSerializer, request.data)
        try:
            inquiry = inbox.take_in(pk, by=request.user)
        except InboundText.DoesNotExist:
            from rest_framework.exceptions import NotFound

            raise NotFound() from None
        return _detail_response(request, inquiry.pk)
