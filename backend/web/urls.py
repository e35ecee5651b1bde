from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.KontaktpunktLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", views.queue_page, name="queue"),
    path("henvendelser/<int:pk>/", views.inquiry_page, name="inquiry-page"),
    path("lege/", views.doctor_page, name="doctor"),
    path("vaktplan/", views.roster_page, name="roster"),
    path("statistikk/", views.stats_page, name="stats"),
    path("kontoer/", views.accounts_page, name="accounts"),
]
