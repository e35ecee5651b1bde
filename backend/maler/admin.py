"""Templates in the admin: read-only lists. Versions are published through the API (a lead), so
that a used version can never be edited in place."""

from typing import Any

from django.contrib import admin

from .models import MessageTemplate, TemplateVersion


class ReadOnlyVersions(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    can_delete = False
    fields = ("language", "number", "body", "variables", "published_at", "used")
    readonly_fields = ("language", "number", "body", "variables", "published_at", "used")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "category", "sensitive", "active"]
    readonly_fields = ["key"]
    inlines = [ReadOnlyVersions]
