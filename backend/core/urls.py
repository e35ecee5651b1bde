from django.urls import path

from . import audit_api

urlpatterns = [
    path("audit/", audit_api.AuditListApi.as_view(), name="audit-list"),
]
