from django.urls import path

from . import api

urlpatterns = [
    path("stats/", api.StatsApi.as_view(), name="stats"),
    path("stats/csv/", api.StatsCsvApi.as_view(), name="stats-csv"),
]
