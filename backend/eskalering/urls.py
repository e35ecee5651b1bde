from django.urls import path

from . import api

urlpatterns = [
    path(
        "inquiries/<int:pk>/escalations/",
        api.InquiryEscalationsApi.as_view(),
        name="inquiry-escalations",
    ),
    path("escalations/", api.EscalationListApi.as_view(), name="escalation-list"),
    path("escalations/<int:pk>/", api.EscalationDetailApi.as_view(), name="escalation-detail"),
    path(
        "escalations/<int:pk>/acknowledge/",
        api.EscalationAcknowledgeApi.as_view(),
        name="escalation-acknowledge",
    ),
    path(
        "escalations/<int:pk>/answer/", api.EscalationAnswerApi.as_view(), name="escalation-answer"
    ),
    path(
        "escalations/<int:pk>/reassign/",
        api.EscalationReassignApi.as_view(),
        name="escalation-reassign",
    ),
    path("doctors/", api.DoctorListApi.as_view(), name="doctor-list"),
    path("rosters/", api.RosterListApi.as_view(), name="roster-list"),
    path("rosters/import/", api.RosterImportApi.as_view(), name="roster-import"),
    path("rosters/<int:pk>/", api.RosterShiftApi.as_view(), name="roster-shift"),
]
