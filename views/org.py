"""Grids for the estate's shape: branches, estates, departments, clusters, units, residents."""

from __future__ import annotations

from models.i18n import L_
from models.org import Unit
from models.users import MANAGERS
from views.base import SecureModelView

ADMIN_ONLY = frozenset({"admin"})


class BranchAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": ADMIN_ONLY, "edit": ADMIN_ONLY}
    column_list = ("name", "general_manager", "phone")
    column_searchable_list = ("name",)
    # The GM's own mobile and WeChat Work account (R-EMG-2, #17) are for the notifications:
    # the admin edits them; the grid and details every role may read do not show them.
    column_details_exclude_list = ("gm_mobile", "gm_wecom_userid")


class EstateAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": ADMIN_ONLY,
                   "edit": frozenset({"admin", "director"})}
    column_list = ("code", "name", "branch", "office_phone", "active")
    column_searchable_list = ("code", "name")
    column_filters = ("active",)


class DepartmentAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("estate", "kind", "name", "supervisor", "phone")
    column_filters = ("kind",)


class ClusterAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("estate", "name", "sort_order")
    column_default_sort = ("sort_order", False)


class BuildingAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("estate", "cluster", "name", "floors")
    column_searchable_list = ("name",)


class UnitAdmin(SecureModelView):
    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("estate", "code", "building", "entrance", "room", "floor", "area", "state")
    column_searchable_list = ("code",)
    column_filters = ("state",)
    column_default_sort = ("code", False)
    form_ajax_refs = {"building": {"fields": ("name",), "page_size": 20}}


class ResidentAdmin(SecureModelView):
    column_list = ("estate", "unit", "name", "kind", "phone", "id_number", "moved_in")
    # Phone intake (#12 item 8): the desk finds the caller by name, phone or flat.
    column_searchable_list = ("name", "phone", Unit.code)
    column_filters = ("kind", "moved_in")
    form_ajax_refs = {"unit": {"fields": ("code",), "page_size": 20,
                               "placeholder": L_("输入房屋编号搜索，如 3-1-502")}}
