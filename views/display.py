"""How a register's values are shown: Chinese column headers, choice labels, office time,
masked document numbers (revealed one at a time, audited) and exports with a BOM, formulas
neutralised and an audit row."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from flask import abort, request
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup

from models.base import (
    DocumentNumberField,
    mask_value,
)
from models.register import audit
from models.validators import neutralise_formula
from views.forms import format_datetime

# Bookkeeping columns no form ever edits directly.
BOOKKEEPING = (
    "created_at", "updated_at", "version", "created_by",
    "voided", "void_reason", "voided_at", "voided_by",
)


def _row_estate(row) -> int | None:
    """The estate an exported row belongs to (an estate row is its own)."""
    if type(row).__name__ == "Estate":
        return row.id
    return getattr(row, "estate_id", None)


class DisplayMixin:
    """Showing, exporting and revealing values (mixed into SecureModelView)."""


    def _sensitive_columns(self) -> set[str]:
        return {name for name, field in self.model._meta.fields.items()
                if isinstance(field, DocumentNumberField)}

    def get_column_name(self, field):
        """Column headers come from the field's verbose_name (Chinese), as forms' labels do."""
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        model_field = self.model._meta.fields.get(field)
        if model_field is not None and model_field.verbose_name:
            return model_field.verbose_name
        return super().get_column_name(field)

    def _shown_value(self, model, name, value):
        field = self.model._meta.fields.get(name)
        if field is not None and name in self._sensitive_columns():
            return mask_value(field, value)
        if field is not None and field.choices and not isinstance(value, Markup):
            return dict(field.choices).get(value, value)
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        if isinstance(value, bool):
            return "是" if value else "否"
        return value

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        if name in ("state", "status") and getattr(model, "voided", False):
            return "已作废"  # #12 item 9: a voided pass is not 有效, whatever its state says
        value = super()._get_list_value(context, model, name, column_formatters,
                                        column_type_formatters)
        if isinstance(value, Markup):
            return value
        return self._shown_value(model, name, value)

    def get_export_value(self, model, name):
        value = super().get_export_value(model, name)
        return neutralise_formula(value) if isinstance(value, str) else value

    def _export_csv(self, return_url):
        # A byte-order mark lets Excel on a Chinese Windows desk open UTF-8 CSV correctly.
        response = super()._export_csv(return_url)
        response.response = itertools.chain(["\ufeff"], response.response)
        return response

    def _export_data(self):
        count, data = super()._export_data()
        view_args = self._get_list_extra_args()
        # An export of estate X's rows belongs to X (#11 item 7): one audit row per estate.
        per_estate = Counter(_row_estate(row) for row in data) or Counter({None: 0})
        for estate_id, rows in sorted(per_estate.items(), key=lambda item: item[0] or 0):
            audit(current_user._get_current_object(), "export",
                  table=self.model._meta.table_name, estate_id=estate_id,
                  changes={"search": view_args.search,
                           "filters": [list(map(str, f)) for f in (view_args.filters or [])],
                           "rows": rows, "total_rows": len(data)},
                  summary=f"导出 {self.name} {rows} 行")
        return count, data

    # -- reveal -------------------------------------------------------------------------------

    @expose("/reveal/", methods=("POST",))
    def reveal_view(self):
        """Show one full document number to a permitted user; every reveal is audited."""
        row = self.get_one(request.args.get("id"))
        name = request.form.get("field", "")
        if row is None or name not in self._sensitive_columns():
            abort(404)
        audit(current_user._get_current_object(), "reveal", instance=row,
              changes={"field": name}, summary=f"查看 {row} 的完整证件号")
        field = self.model._meta.fields[name]
        return self.render("admin/reveal.html", row=row, label=field.verbose_name,
                           value=getattr(row, name) or "",
                           return_url=self.get_url(".details_view", id=row._pk))
