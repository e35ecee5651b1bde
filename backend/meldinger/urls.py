from django.urls import path

from . import api

urlpatterns = [
    path("inquiries/<int:pk>/replies/", api.InquiryRepliesApi.as_view(), name="inquiry-replies"),
    path("inquiries/<int:pk>/messages/", api.InquiryMessagesApi.as_view(), name="inquiry-messages"),
    path("messages/preview/", api.FreeTextPreviewApi.as_view(), name="message-preview"),
    path("messages/<int:pk>/", api.MessageDetailApi.as_view(), name="message-detail"),
    path("messages/<int:pk>/reissue/", api.MessageReissueApi.as_view(), name="message-reissue"),
    path(
        "municipal-coordinators/",
        api.MunicipalCoordinatorsApi.as_view(),
        name="municipal-coordinators",
    ),
    path(
        "patients/<int:pk>/followups/", api.PatientFollowUpsApi.as_view(), name="patient-followups"
    ),
    path("followups/<int:pk>/cancel/", api.FollowUpCancelApi.as_view(), name="followup-cancel"),
]
