"""Form pieces every admin form shares: choices, the office-time date-time field, the
Chinese "required" check and the model converter that knows our field types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import current_app, flash
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup
from wtforms import fields as wtf_fields
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, StopValidation

from models.base import (
    AwareDateTimeField,
    DocumentNumberField,
    RuleError,
    mask_value,
    office_tz,
    to_office,
)
from models.steps import rehearsal


def choices(pairs) -> list[SelectChoice]:
    """wtforms 3.3+ wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


def format_datetime(value: dt.datetime | None) -> str:
    """Show a stored moment in the office's wall time."""
    local = to_office(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


class LocalDateTimeField(wtf_fields.DateTimeField):
    """A datetime entered and shown in the office's wall time, stored as an aware moment."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"])
        super().__init__(*args, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if self.data:
            return to_office(self.data).strftime("%Y-%m-%d %H:%M")
        return ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=office_tz())


class Required(InputRequired):
    """wtf-peewee's "required" (0 and False are values) with a Chinese message.

    Being an InputRequired, Flask-Admin marks the field with a red asterisk.
    """

    def __call__(self, form, field):
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            raise StopValidation(gettext("此项必填"))


def attach_rule_errors(form, error: RuleError, *, renames: dict[str, str] | None = None,
                       keep_first: bool = False) -> None:
    """Put each rule message next to its field; the rest go to the top of the page.

    renames: model field -> the form field its messages go to (a view's form_error_fields).
    keep_first: a field that already has a message keeps only that one (a required field
    says 此项必填, not also what its empty value breaks).
    """
    for name, message in error.errors.items():
        name = (renames or {}).get(name, name)
        if name and name in form:
            if not (keep_first and form[name].errors):
                form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


def hide_document_numbers(form, row) -> None:
    """An edit form shows a document number masked to a user who may not reveal it (#12 item
    5): 110101********1234, as lists and exports do. Left as shown, the stored number stays;
    a number typed in its place replaces it (and is checked like any).

    A form built on an older version of the row may post back the mask of a number somebody
    has changed since: that is still "left as shown", so the number now stored is kept and
    the version check says the row changed, instead of the mask being judged as a number."""
    stale = "row_version" in form and bool(form.row_version.data) and \
        form.row_version.data != str(row.version)
    for name, field in type(row)._meta.fields.items():
        stored = getattr(row, name) if isinstance(field, DocumentNumberField) else None
        masked = mask_value(field, stored)
        if name not in form or not stored or masked == stored:
            continue
        box = form[name]
        posted = box.data if isinstance(box.data, str) else ""
        if posted == masked or (stale and "*" in posted):  # posted back as it was shown
            # The mask of another number: somebody changed it since this form was shown.
            box.changed_by_others = posted != masked
            box.data = stored
        shown = box._value
        box._value = lambda box=box, stored=stored, masked=masked, shown=shown: (
            masked if box.data == stored else shown())


def offer_newer_version(view, form, row) -> None:
    """A save refused because somebody else saved the row first (optimistic version check,
    #12 item 9). The typed input stays in the form; a link opens the newer version; each
    field the other person changed says, next to it, what it is now (a document number only
    that it changed); and the form now carries the newer version, so saving again after
    checking keeps what is in the form instead of failing forever."""
    model = type(row)
    current = newer_version(view, row, gettext(
        "保存失败：这条记录已被其他人修改，您填写的内容仍保留在表单中。"
        "请核对标出的项目；核对后再次保存，将以表单中的内容为准。"))
    if current is None:
        return
    if "row_version" in form:
        form.row_version.data = str(current.version)
    for name, field in model._meta.fields.items():
        if name not in form or name in ("version", "updated_at"):
            continue
        now, typed = current.__data__.get(name), row.__data__.get(name)
        if now == typed and not getattr(form[name], "changed_by_others", False):
            continue
        if isinstance(field, DocumentNumberField):
            message = gettext("他人已修改此项")
        else:
            message = gettext("他人已改为：%(value)s", value=_plain(current, name, field))
        form[name].errors = [*form[name].errors, message]


def newer_version(view, row, message: str):
    """Say a save was refused as stale, with a link to the row's newer version; that version
    (None if the row is gone). A row action's form then carries it (views.actions), so a step
    taken again after checking is judged by the row's rules as it is now (#12 item 9)."""
    model = type(row)
    flash(Markup('{} <a href="{}" target="_blank" rel="noopener" id="newer-version">{}</a>')
          .format(message, view.get_url(".details_view", id=row._pk), gettext("打开最新版本")),
          "error")
    return model.get_or_none(model._meta.primary_key == row._pk)


def _plain(row, name: str, field) -> str:
    value = getattr(row, name)
    if value is None or value == "":
        return gettext("（空）")
    if field.choices:
        return str(dict(field.choices).get(value, value))
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    return str(value)

def refused_form_rules(rehearse: Callable[[], Any]) -> dict[str, str]:
    """What the rules say about a form its own checks refused, nothing saved (#12 item 3).

    A form's own checks (a required field, a malformed date) used to stop the submit before
    the rules ran, so an empty required field hid a bad phone, reversed dates, negative money
    or a step's rule until the next submit. `rehearse` applies the rules to what passed the
    form's checks (a create or edit form: the model's `full_clean` on a copy of the row, see
    `rule_errors`; a row action: its step on a fresh copy of the row, views.actions) inside a
    rehearsal that keeps nothing; its messages come back by field, for `attach_rule_errors`
    with keep_first. A rule that fails otherwise on a half-filled form is logged, not shown:
    the form's own messages stand, and the real submit runs every rule again.
    """
    try:
        with rehearsal():
            rehearse()
    except RuleError as error:
        return dict(error.errors)
    except Exception:
        current_app.logger.exception("the rules of a refused form could not run")
    return {}


def passed_values(form, convert: Callable[[Any], dict] | None = None) -> dict:
    """The form's values (`convert(form)`, or its data), a refused field's as empty ("" for
    text, else None): a value the form refused is already reported and must not reach a rule
    or its query."""
    refused = {name: field.data for name, field in form._fields.items() if field.errors}
    try:
        for name in refused:
            form[name].data = "" if isinstance(form[name], wtf_fields.StringField) else None
        return convert(form) if convert is not None else dict(form.data)
    finally:
        for name, data in refused.items():
            form[name].data = data


def rule_errors(form, model_class, stored=None) -> dict[str, str]:
    """The model's rules on what a refused create or edit form holds (`refused_form_rules`):
    its `full_clean` on a copy of the row (`stored` for an edit, never the row itself) filled
    from the form's accepted fields."""
    row = model_class()
    if stored is not None:
        row.__data__ = dict(stored.__data__)
        row._dirty = set()
    # Only what passed the form's own checks: a refused value (an id no column holds, a
    # malformed date) is already reported and must not reach a rule's query. A file is read
    # by the view when it saves: its rules wait for that.
    files = set()
    for name, field in form._fields.items():
        if isinstance(field, wtf_fields.FileField):
            files.add(name)
        elif not field.errors:
            field.populate_obj(row, name)

    def rehearse():
        if stored is not None:
            row.before_update()
        row.full_clean()

    return {name: message for name, message in refused_form_rules(rehearse).items()
            if name not in files}


class ModelConverter(CustomModelConverter):
    """Flask-Admin's peewee converter plus our field types."""

    def __init__(self, view, additional=None):
        super().__init__(view, additional)
        # wtf-peewee takes the first isinstance match in order: ours must precede DateTimeField.
        self.converters = {AwareDateTimeField: self.handle_aware_datetime, **self.converters}

    def handle_aware_datetime(self, model, field, **kwargs):
        from flask_admin import form as admin_form

        kwargs["widget"] = admin_form.DateTimePickerWidget()
        kwargs.setdefault("description", lazy_gettext("格式：2026-11-26 14:30（北京时间）"))
        return field.name, LocalDateTimeField(**kwargs)
