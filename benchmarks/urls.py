"""The service's URLs plus `GET /bench/noop`: a Django view that does nothing, through the same
middleware as every other request. Its throughput on the same server is the ceiling that the
ingest benchmark compares the webhook with."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as service_urlpatterns


def noop(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/noop", noop), *service_urlpatterns]
