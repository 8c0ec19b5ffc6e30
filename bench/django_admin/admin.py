"""A stock ModelAdmin with the desk grid's columns, filters and search."""

from django.contrib import admin

from bench.django_admin.models import Demand


@admin.register(Demand)
class DemandAdmin(admin.ModelAdmin):
    list_display = ("number", "received_at", "category", "kind", "unit", "contact_name",
                    "description", "status", "reply_due", "department")
    list_filter = ("status", "category")
    search_fields = ("description",)
    ordering = ("-received_at",)
    list_per_page = 50
