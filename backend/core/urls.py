from django.urls import path

from . import accounts_api, audit_api

urlpatterns = [
    path("audit/", audit_api.AuditListApi.as_view(), name="audit-list"),
    path("me/", accounts_api.MeApi.as_view(), name="me"),
    path("users/<int:pk>/unlock/", accounts_api.UnlockAccountApi.as_view(), name="user-unlock"),
]
