from django.urls import path

from . import api

urlpatterns = [
    path("patients/", api.PatientListCreateApi.as_view(), name="patient-list"),
    path("patients/<int:pk>/", api.PatientDetailApi.as_view(), name="patient-detail"),
    path("patients/<int:pk>/contacts/", api.PatientContactsApi.as_view(), name="patient-contacts"),
    path("contacts/<int:pk>/", api.ContactDetailApi.as_view(), name="contact-detail"),
    path("inquiries/", api.InquiryListCreateApi.as_view(), name="inquiry-list"),
    path("inquiries/<int:pk>/", api.InquiryDetailApi.as_view(), name="inquiry-detail"),
    path("inquiries/<int:pk>/claim/", api.InquiryClaimApi.as_view(), name="inquiry-claim"),
    path("inquiries/<int:pk>/release/", api.InquiryReleaseApi.as_view(), name="inquiry-release"),
    path("inquiries/<int:pk>/notes/", api.InquiryNotesApi.as_view(), name="inquiry-notes"),
    path("inquiries/<int:pk>/patient/", api.InquiryPatientApi.as_view(), name="inquiry-patient"),
    path("inquiries/<int:pk>/close/", api.InquiryCloseApi.as_view(), name="inquiry-close"),
    path("inbox/set-aside/", api.SetAsideTextsApi.as_view(), name="inbox-set-aside"),
    path(
        "inbox/set-aside/<int:pk>/take-in/",
        api.SetAsideTakeInApi.as_view(),
        name="inbox-take-in",
    ),
]
