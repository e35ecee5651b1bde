from django.urls import path

from . import api

urlpatterns = [
    path("triage/assess/", api.TriageAssessApi.as_view(), name="triage-assess"),
    path("triage/rules/", api.RulesApi.as_view(), name="triage-rules"),
    path(
        "inquiries/<int:pk>/assessments/",
        api.InquiryAssessmentsApi.as_view(),
        name="inquiry-assessments",
    ),
]
