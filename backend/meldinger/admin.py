"""Configuration only (the directory of municipal coordinators). Messages are patient data and
are read through the audited API and pages, not the admin."""

from django.contrib import admin

from .models import MunicipalCoordinator


@admin.register(MunicipalCoordinator)
class MunicipalCoordinatorAdmin(admin.ModelAdmin):
    list_display = ["municipality_number", "municipality", "name", "phone", "email"]
    search_fields = ["municipality", "name"]
