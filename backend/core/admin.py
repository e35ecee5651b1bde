"""Admin for configuration only (sections, membership, profiles). Patient data is deliberately
not in the admin: every read of it must go through the audited API and pages."""

from django.contrib import admin

from .models import Membership, Section, UserProfile


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "phone_number"]
    readonly_fields = ["last_seq"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "section"]


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "title"]
