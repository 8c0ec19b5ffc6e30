"""The service guide in the admin (R-GUIDE): its chapters, its services shown or hidden, and the
new owner's booklet printed from the visible ones.

The rules live in models/guide.py; the guide has no row actions, only the booklet page.
"""

from __future__ import annotations

from flask import abort
from flask_admin import expose

from models.base import to_office, utcnow
from models.guide import GuideCategory, GuideEntry, booklet
from views.actions import RegisterView, add_views
from views.fields import chosen_estate


class GuideCategoryAdmin(RegisterView):
    """便民服务指南·类别: the chapters of the booklet, in order (R-GUIDE-1)."""

    list_template = "admin/office_guide_list.html"
    column_list = ("name", "sort_order", "intro")
    column_default_sort = ("sort_order", False)
    form_create_columns = ("estate", "name", "sort_order", "intro")
    form_edit_columns = ("name", "sort_order", "intro")


class GuideEntryAdmin(RegisterView):
    """便民服务指南: services with provider, phone, hours, price; shown or hidden (R-GUIDE-1);
    the visible ones print as the new owner's booklet (R-GUIDE-2)."""

    endpoint_actions = {"booklet_view": "list"}
    list_template = "admin/office_guide_list.html"
    column_list = ("category", "name", "provider", "phone", "hours", "price", "visible",
                   "sort_order")
    column_filters = ("category", "visible")
    column_searchable_list = ("name", "provider", "phone")
    column_default_sort = ("sort_order", False)
    form_create_columns = ("estate", "category", "name", "provider", "phone", "hours", "price",
                           "notes", "visible", "sort_order")
    form_edit_columns = ("category", "name", "provider", "phone", "hours", "price", "notes",
                         "visible", "sort_order")

    @expose("/booklet/")
    def booklet_view(self):
        """The A5 booklet of the guide, grouped by category, with the estate's name."""
        estate, _ = chosen_estate()
        if estate is None:
            abort(404)
        return self.render("admin/office_guide_booklet.html", estate=estate,
                           now=to_office(utcnow()), **booklet(estate.id))


def register(admin, category: str) -> None:
    add_views(admin, category,
              (GuideEntryAdmin, GuideEntry, "便民服务指南", "guide_entry"),
              (GuideCategoryAdmin, GuideCategory, "服务指南类别", "guide_category"))
