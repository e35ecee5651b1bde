from django.urls import path

from . import api

urlpatterns = [
    path("fhir/Communication", api.CommunicationSearchApi.as_view(), name="fhir-communication"),
    path("fhir/Task", api.TaskSearchApi.as_view(), name="fhir-task"),
]
