from django.urls import path

from . import api

urlpatterns = [
    path("templates/", api.TemplateListApi.as_view(), name="template-list"),
    path("templates/<slug:key>/", api.TemplateDetailApi.as_view(), name="template-detail"),
    path(
        "templates/<slug:key>/versions/",
        api.TemplateVersionsApi.as_view(),
        name="template-versions",
    ),
    path(
        "templates/<slug:key>/preview/", api.TemplatePreviewApi.as_view(), name="template-preview"
    ),
]
