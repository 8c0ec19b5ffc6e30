"""How a register's values are shown: Chinese column headers, choice labels, office time,
masked document numbers (revealed one at a time, audited) and exports with a BOM, formulas
neutralised and an audit row."""

from __future__ import annotations

import datetime as dt
import functools
import re
from urllib.parse import quote

from flask import Response, abort, current_app, request, stream_with_context
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from peewee import DateTimeField, Field, ForeignKeyField

from models.base import (
    DocumentNumberField,
    PhoneField,
    mask_value,
    to_office,
    utcnow,
)
from models.i18n import office_language, office_str, office_text
from models.register import audit
from models.validators import mask_phone
from views.exports import XLSX_MIMETYPE, csv_chunks, row_batches, xlsx_chunks
from views.forms import format_datetime

# Bookkeeping columns no form ever edits directly.
BOOKKEEPING = (
    "created_at", "updated_at", "version", "created_by",
    "voided", "void_reason", "voided_at", "voided_by",
)


@functools.cache
def sensitive_columns(model) -> frozenset[str]:
    """The model's document-number columns (looked up once per model, not once per cell)."""
    return frozenset(name for name, field in model._meta.fields.items()
                     if isinstance(field, DocumentNumberField))


def plain(value):
    """A grid value as export data: HTML reduced to its text (badges, links)."""
    if isinstance(value, Markup):
        return value.striptags()
    return value


def office_wall_time(value):
    """A stored moment as the office's wall-clock time (what the grid shows), zone dropped."""
    return to_office(value).replace(tzinfo=None) if value is not None else None


def attach_related(rows, model, names) -> None:
    """Load the related rows the named foreign-key columns show, one query per column for
    all `rows`, instead of one query per row and column (#14 item 4: a page's statements do
    not grow with its rows). A related register names itself by its flat (KeySet, MoveIn,
    Decoration: "3-1-502 …"), so their units come the same way."""
    for name in names:
        field = model._meta.fields[name]
        wanted = {row.__data__.get(name) for row in rows if name not in row.__rel__} - {None}
        if not wanted:
            continue
        target = field.rel_model
        found = {getattr(r, field.rel_field.name): r
                 for r in target.select().where(field.rel_field.in_(wanted))}
        for row in rows:
            value = row.__data__.get(name)
            if name not in row.__rel__ and value in found:
                row.__rel__[name] = found[value]
        if "unit" in target._meta.fields and target is not model and _named_by_unit(target):
            attach_related(list(found.values()), target, ["unit"])


def _named_by_unit(model) -> bool:
    """The model's __str__ reads its unit (KeySet, MoveIn, Decoration: "3-1-502 …"); a demand
    names itself by number and description, so its unit is not loaded for a link to it."""
    code = getattr(model.__str__, "__code__", None)
    return code is not None and "unit" in code.co_names


def shown_relations(view) -> list[str]:
    """The foreign-key columns a grid or export shows (their names are read per row)."""
    fields = view.model._meta.fields
    return [name for name, _label in view._list_columns
            if isinstance(fields.get(name), ForeignKeyField)]


def cap_notice(limit: int) -> str:
    """The last line of an export that reached EXPORT_MAX_ROWS (also said on the grid)."""
    return f"已达导出上限 {limit} 行，其余记录未导出；请加筛选条件分批导出。"


class DisplayMixin:
    """Showing, exporting and revealing values (mixed into SecureModelView)."""

    def prepare_rows(self, rows, related) -> None:
        """Load what a page or an export batch of rows shows, in a few queries for all of them
        (#14 items 2 and 4): the `related` foreign-key columns' rows; a view that shows
        computed figures adds its own (SurveyRoundAdmin)."""
        attach_related(rows, self.model, related)

    def _sensitive_columns(self) -> set[str]:
        return sensitive_columns(self.model)

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
        if isinstance(field, DocumentNumberField):
            return mask_value(field, value)
        if field is not None and field.choices and not isinstance(value, Markup):
            return dict(field.choices).get(value, value)
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        if isinstance(value, bool):
            return gettext("是") if value else gettext("否")
        return value

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        if name in ("state", "status") and getattr(model, "voided", False):
            # #12 item 9: a voided pass is not 有效, whatever its state says
            return gettext("已作废")
        value = super()._get_list_value(context, model, name, column_formatters,
                                        column_type_formatters)
        if isinstance(value, Markup):
            return value
        return self._shown_value(model, name, value)

    # -- export (#12 items 4 and 5, #14 item 4) -------------------------------------------------

    # The manual's registers (RegisterView) say so; residents, organisation, users do not.
    office_register = False

    def clerk_exports(self) -> bool:
        """#12 item 5: besides the view's export roles, a clerk exports the office registers a
        clerk keeps (creates or edits rows of) — not the residents, the organisation or the
        users, whose phone and ID lists are not a clerk's to take away."""
        keeps = self.permissions.get("create", frozenset()) | self.permissions.get(
            "edit", frozenset())
        return (self.office_register and current_user.is_authenticated
                and current_user.role == "clerk" and "clerk" in keeps
                and "clerk" in self.permissions.get("list", frozenset()))

    # Phone columns of public numbers (the service guide), never masked.
    public_columns: tuple[str, ...] = ()

    def export_plan(self, reveal: bool) -> list[tuple[str, object]]:
        """Each exported column's header and how to read its value from a row, decided once
        per export: which columns are masked, labelled, dated (not once per cell)."""
        explicit = getattr(type(self), "column_formatters_export", None) or {}
        return [(header, self._export_reader(name, explicit.get(name), reveal))
                for name, header in self._export_columns]

    def _export_reader(self, name, export_formatter, reveal):
        """A column's value as data: the field's own value (full text, real dates, choice
        labels, related rows by name), masked unless revealed; a computed column's grid text
        without its HTML. Screen formatting (badges, truncation) stays on the screen."""
        field = self.model._meta.fields.get(name)
        if export_formatter is not None:
            return lambda row: plain(export_formatter(self, None, row, name))
        if field is None:
            screen = (self.column_formatters or {}).get(name)
            if screen is not None:
                return lambda row: plain(screen(self, None, row, name))
            return lambda row: plain(self._get_field_value(row, name))
        if isinstance(field, DocumentNumberField) and not reveal:
            return lambda row: mask_value(field, getattr(row, name))
        if isinstance(field, PhoneField) and not reveal and name not in self.public_columns:
            return lambda row: mask_phone(getattr(row, name))
        if field.choices:
            labels = dict(field.choices)
            if name in ("state", "status") and "voided" in self.model._meta.fields:
                return lambda row: "已作废" if row.voided else labels.get(getattr(row, name), "")
            return lambda row: labels.get(getattr(row, name), getattr(row, name))
        if isinstance(field, DateTimeField):
            return lambda row: office_wall_time(getattr(row, name))
        if isinstance(field, ForeignKeyField):
            return lambda row: str(getattr(row, name)) if row.__data__.get(name) else ""
        return lambda row: getattr(row, name)

    def export_file_name(self, kind: str) -> tuple[str, str]:
        """`<register>_<estate>_<office local time>.<kind>` (#12 item 4), and an ASCII
        fallback for old browsers."""
        codes = [e.code for e in current_user.estates()]
        estate = "-".join(codes) if 0 < len(codes) <= 3 else "全部小区"
        stamp = to_office(utcnow()).strftime("%Y%m%d-%H%M")
        name = re.sub(r'[\\/:*?"<>|\s]+', "-", f"{office_text(self.name)}_{estate}_{stamp}.{kind}")
        fallback = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.endpoint}_{estate}_{stamp}.{kind}")
        return name, fallback

    def export_fields(self) -> frozenset[str] | None:
        """The model's fields an export reads, when every exported column is one of them (the
        readers above then need nothing else); None when a column or the view needs the whole
        row. #14 item 4: a demand has about 45 columns and its export shows 10; peewee turning
        the other 35 into values was most of a 1M-row export's CPU."""
        fields = self.model._meta.fields
        if (getattr(type(self), "column_formatters_export", None)
                or type(self).prepare_rows is not DisplayMixin.prepare_rows
                or any(name not in fields for name, _h in self._export_columns)):
            return None
        wanted = {self.model._meta.primary_key.name, *(n for n, _h in self._export_columns)}
        return frozenset(wanted | ({"voided"} & set(fields)))

    # The model's fields a grid's cells read besides its shown columns (formatters, badges):
    # declared, the page's SELECT names only these, the shown ones, the id and `voided`; None
    # (the default): the whole row. #14 throughput: the demand grid read all 48 columns of 50
    # rows (its bigram search text, reply texts) to show 10, and peewee turning them into
    # values was a fifth of the page's CPU.
    column_list_reads: tuple[str, ...] | None = None

    def list_fields(self) -> frozenset[str] | None:
        """The model's fields a grid page reads, or None for the whole row (see above)."""
        if self.column_list_reads is None:
            return None
        fields = self.model._meta.fields
        wanted = {self.model._meta.primary_key.name, *self.column_list_reads,
                  *(name for name, _label in self._list_columns if name in fields)}
        return frozenset(wanted | ({"voided"} & set(fields)))

    def select_only(self, query, wanted: frozenset[str]):
        """The query with the model's own columns cut to `wanted`; the joined tables' columns
        it selects (a demand's unit code, its department's name) stay."""
        return query.select(*[c for c in query.selected_columns if not (
            isinstance(c, Field) and c.model is self.model and c.name not in wanted)])

    def _export_query(self):
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters, execute=False,
                                      page_size=0)
        wanted = self.export_fields()
        if wanted is not None:
            query = self.select_only(query, wanted)
        return query, view_args

    def _export_csv(self, return_url):
        return self.stream_export("csv")

    def _export_tablib(self, export_type, return_url):
        if export_type != "xlsx":
            abort(404)
        return self.stream_export("xlsx")

    def stream_export(self, kind: str) -> Response:
        """The grid's rows (its search, filters and sort) as a CSV or XLSX download, streamed
        while it is read; audited first, with the estates, filters and masking."""
        reveal = self.allowed("reveal")
        plan = self.export_plan(reveal)
        query, view_args = self._export_query()
        limit = current_app.config.get("EXPORT_MAX_ROWS") or 0
        if limit:
            query = query.limit(limit + 1)
        estates = current_user.estate_ids() if current_user.role != "admin" else []
        revealed = sorted(name for name, _h in self._export_columns
                          if reveal and self._masked_when_hidden(name))
        # An export of estate X's grid belongs to X (#11 item 7): one audit row per estate it
        # covers, so each estate's supervisors see it; an admin's all-estates export, one row.
        for estate_id in estates or [None]:
            audit(current_user._get_current_object(), "export",
                  table=self.model._meta.table_name, estate_id=estate_id,
                  changes={"format": kind, "search": view_args.search,
                           "filters": [list(map(str, f)) for f in (view_args.filters or [])],
                           "estates": estates, "revealed": revealed, "limit": limit or None},
                  summary=f"导出 {office_text(self.name)}（{kind.upper()}）"
                          + ("，含完整号码" if revealed else ""))
        # Exports are the office's files: Chinese headers and labels whatever the screen shows.
        headers = [office_text(header) for header, _read in plan]
        readers = [read for _header, read in plan]
        related = [name for name, _h in self._export_columns
                   if isinstance(self.model._meta.fields.get(name), ForeignKeyField)]

        def rows():
            written = 0
            for batch in row_batches(query):
                kept = batch[:limit - written] if limit else batch
                self.prepare_rows(kept, related)
                with office_language():  # once per batch: entering it costs a locale parse
                    values = [[office_text(read(row)) for read in readers] for row in kept]
                yield from values
                written += len(kept)
                if len(kept) < len(batch):
                    yield [cap_notice(limit)]
                    return

        name, fallback = self.export_file_name(kind)
        disposition = (f'attachment; filename="{fallback}"; '
                       f"filename*=UTF-8''{quote(name)}")
        if kind == "csv":
            body, mimetype = csv_chunks(headers, rows()), "text/csv; charset=utf-8"
        else:
            body, mimetype = xlsx_chunks(office_text(self.name), headers, rows()), XLSX_MIMETYPE
        return Response(stream_with_context(body), mimetype=mimetype,
                        headers={"Content-Disposition": disposition,
                                 "X-Accel-Buffering": "no"})

    def _masked_when_hidden(self, name) -> bool:
        field = self.model._meta.fields.get(name)
        return isinstance(field, DocumentNumberField) or (
            isinstance(field, PhoneField) and name not in self.public_columns)

    # -- reveal -------------------------------------------------------------------------------

    @expose("/reveal/", methods=("POST",))
    def reveal_view(self):
        """Show one full document number to a permitted user; every reveal is audited."""
        row = self.get_one(request.args.get("id"))
        name = request.form.get("field", "")
        if row is None or name not in self._sensitive_columns():
            abort(404)
        audit(current_user._get_current_object(), "reveal", instance=row,
              changes={"field": name}, summary=f"查看 {office_str(row)} 的完整证件号")
        field = self.model._meta.fields[name]
        return self.render("admin/reveal.html", row=row, label=field.verbose_name,
                           value=getattr(row, name) or "",
                           return_url=self.get_url(".details_view", id=row._pk))
