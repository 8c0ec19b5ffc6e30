"""Permits and slips in the admin: the hot-work permit (R-PASS-3) and the goods release slip
(R-PASS-5), each numbered and printed (R-PASS-6).

The rules live in models/permits.py; this module declares the grids and the row actions (完工,
注销; 联系业主确认, 放行).
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup
from wtforms import Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.attachments import id_copies, scans
from models.base import utcnow
from models.i18n import L_
from models.org import Unit
from models.permits import CONFIRM_METHODS, GoodsRelease, HotWorkPermit
from models.users import DESK
from views.actions import RegisterView, RowAction
from views.base import SecureModelView
from views.fields import UNIT_LOOKUP, when_field
from views.forms import choices


class CloseHotWorkForm(Form):
    closed_at = when_field(L_("完工时间"))


class CancelNoteForm(Form):
    note = StringField(L_("注销说明"),
                       validators=[InputRequired(L_("请填写注销说明")), Length(max=200)])


def _work_to_cell(view, context, model, name):
    text = view._shown_value(model, name, model.work_to)
    if model.state == "issued" and model.work_to < utcnow():
        return Markup(gettext('{} <span class="badge badge-danger">已过期未完工</span>')
                      ).format(text)
    return text


class HotWorkPermitAdmin(RegisterView):
    """动火证: operator's certificate and ID copied and archived, red stamp (R-PASS-3)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    details_template = "admin/pass_details.html"
    print_template = "admin/pass_hot_work_print.html"
    attachment_kinds = (id_copies("operator_cert", L_("操作证复印件")),  # R-PASS-3, #16: sensitive
                        id_copies("id_copy", L_("身份证复印件")))
    column_list = ("number", "operator_name", "certificate_number", "location", "work_from",
                   "work_to", "state", "stamped_by")
    column_filters = ("state", "work_from")
    column_searchable_list = ("number", "operator_name", "location")
    column_number_search = {"DH": "number"}
    column_default_sort = ("work_from", True)
    column_formatters = {"work_to": _work_to_cell}
    form_create_columns = ("estate", "operator_name", "doc_type", "id_number", "phone",
                           "certificate_number", "certificate_copy_kept", "id_copy_kept", "unit",
                           "location", "work_from", "work_to", "fire_watch")
    form_edit_columns = ("phone", "fire_watch")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    queues = {"expired": (L_("已过期未完工"), "expired_not_closed")}
    row_actions = (
        # 完工: the hot work is over and the site checked.
        RowAction("close", L_("完工"), "close", form=CloseHotWorkForm, when=("issued",),
                  permission="handle", css="btn-success", title=L_("动火完工")),
        RowAction("cancel", L_("注销"), "cancel", form=CancelNoteForm, when=("issued",),
                  permission="handle", css="btn-outline-secondary", title=L_("注销动火证")),
    )


class ConfirmGoodsForm(Form):
    confirmed = RadioField(L_("业主确认"), choices=choices([("1", L_("内容数量无误，同意放行")),
                                                      ("0", L_("业主不同意或联系不上"))]),
                           validators=[InputRequired(L_("请选择业主确认结果"))])
    owner_name = StringField(L_("确认业主"), validators=[Optional(), Length(max=32)])
    method = SelectField(L_("确认方式"), choices=choices(CONFIRM_METHODS))
    confirmed_at = when_field(L_("确认时间"))
    note = StringField(L_("说明"), validators=[Optional(), Length(max=200)])


class ReleaseGoodsForm(Form):
    released_at = when_field(L_("放行时间"))


def _confirm_values(form) -> dict:
    return {**form.data, "confirmed": form.confirmed.data == "1"}


class GoodsReleaseAdmin(RegisterView):
    """物品放行条: goods lines; the owner confirms before release (R-PASS-5)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    details_template = "admin/pass_details.html"
    print_template = "admin/pass_goods_print.html"
    attachment_kinds = (scans("slip", L_("放行条/物品照片")),)  # R-PASS-5, #16
    column_list = ("number", "created_at", "unit", "bearer_name", "state", "confirmed_with",
                   "released_at")
    column_filters = ("state", "created_at")
    column_searchable_list = ("number", "bearer_name", Unit.code)
    column_number_search = {"FX": "number"}
    column_default_sort = ("created_at", True)
    form_create_columns = ("estate", "unit", "bearer_name", "doc_type", "id_number", "phone",
                           "goods_text")
    form_edit_columns = ("phone",)
    form_extra_fields = {"goods_text": TextAreaField(
        L_("物品清单"), description=L_("每行一种：物品 数量，如：沙发 1、纸箱 × 5 个"))}
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    form_widget_args = {"goods_text": {"rows": 5}}
    row_actions = (
        # 联系业主: contents and quantity confirmed (who, how, when) — or not.
        RowAction("confirm", L_("联系业主确认"), "confirm", form=ConfirmGoodsForm,
                  when=("pending",), permission="handle", title=L_("业主确认"),
                  values=_confirm_values),
        # 放行: stamped, numbered, registered — only after the owner confirmed.
        RowAction("release", L_("放行"), "release", form=ReleaseGoodsForm, when=("confirmed",),
                  permission="handle", css="btn-success"),
    )

    def get_edit_form(self):
        form = super().get_edit_form()
        del form.goods_text  # the goods are fixed once the slip is written
        return form


def register(admin, category: str) -> None:
    admin.add_view(GoodsReleaseAdmin(GoodsRelease, name="物品放行条", category=category,
                                     endpoint="goods_release"))
    admin.add_view(HotWorkPermitAdmin(HotWorkPermit, name="动火证", category=category,
                                      endpoint="hot_work"))
