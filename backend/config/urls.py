from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from meldinger import pages as message_pages

from core import metrics as core_metrics
from core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_metrics.metrics, name="metrics"),
    path("api/auth/token/", core_views.TokenLoginApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("core.urls")),
    path("api/", include("henvendelser.urls")),
    path("api/", include("triage.urls")),
    path("api/", include("eskalering.urls")),
    path("api/", include("maler.urls")),
    path("api/", include("meldinger.urls")),
    path("api/", include("statistikk.urls")),
    path("api/", include("interop.urls")),
    path("webhooks/twilio/", include("henvendelser.webhook_urls")),
    re_path(r"^m/(?P<token>[A-Za-z0-9_-]{1,64})/?$", message_pages.secure_message, name="secure"),
    path("admin/", admin.site.urls),
    path("", include("web.urls")),
]

handler404 = "web.views.not_found"
handler500 = "web.views.server_error"
