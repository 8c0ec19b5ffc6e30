"""Form-level bounds every register form gets from its model's columns (#13 item 7).

A value a column cannot hold is refused next to its field before any rule or query sees it:
integers within the column's width, dates within the field's range, text without control
characters, and a pick-list id that no row can have is simply not a valid choice (it never
reaches SQLite as an overflowing integer). The model's `full_clean` checks the same bounds again
for every other way a row is saved.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from flask_babel import gettext
from peewee import (
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    TextField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError

from models.base import int_kind
from models.validators import INT_RANGES, check_date_range, check_int_range
from views.security import INTEGER_RE, PlainText


def parse_bounded_int(value, kind: str = "int") -> int | None:
    """`value` as an int when it is one that fits a column of `kind`, else None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    low, high = INT_RANGES[kind]
    return number if low <= number <= high else None


class IntegerBounds:
    """Refuse an integer its column cannot hold."""

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, form, field):
        message = check_int_range(field.data, self.kind)
        if message:
            raise ValidationError(message)


class FiniteNumber:
    """Refuse NaN and Infinity, which Python's Decimal reads but no amount is (#12 item 3)."""

    def __call__(self, form, field):
        if isinstance(field.data, Decimal) and not field.data.is_finite():
            raise ValidationError(gettext("请填写数字，如 50 或 50.00"))


class DateBounds:
    """Refuse a date (or moment) outside the field's range (1900–2100 unless narrower)."""

    def __init__(self, model, name: str):
        self.model, self.name = model, name

    def __call__(self, form, field):
        low, high = self.model.date_range(self.name)
        value = field.data
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        message = check_date_range(value, low, high)
        if message:
            raise ValidationError(message)


@cache
def _bounded_select(field_class):
    """A pick-list class whose lookup ignores ids no INTEGER column can hold."""

    def get_model(self, pk):
        if parse_bounded_int(pk) is None:
            return None
        return field_class.get_model(self, pk)

    def pre_validate(self, form):
        # wtf-peewee's null filter re-assigns the raw id, and its check then queries it.
        data = self.data
        if data is not None and not isinstance(data, self.model) \
                and parse_bounded_int(data) is None:
            raise ValidationError(gettext("请从列表中选择"))
        field_class.pre_validate(self, form)

    return type(f"Bounded{field_class.__name__}", (field_class,),
                {"get_model": get_model, "pre_validate": pre_validate})


def fits_filter(flt, value) -> bool:
    """Whether a grid filter's value can be compared with its column (no overflowing integer).

    An integer column (or a relation's id) filtered by a number no column holds is dropped,
    as Flask-Admin drops any other filter value it cannot read.
    """
    kind = int_kind(getattr(flt, "column", None))
    if kind is None or not isinstance(value, str):
        return True
    parts = [part for part in value.split(",") if part.strip()]
    return all(not INTEGER_RE.fullmatch(part) or parse_bounded_int(part, kind) is not None
               for part in parts)


def harden(form_class, model) -> None:
    """Add the column bounds to each scaffolded field of `form_class` built from `model`."""
    for name in dir(form_class):
        unbound = getattr(form_class, name)
        field = model._meta.fields.get(name)
        if not isinstance(unbound, UnboundField) or field is None:
            continue
        extra = []
        if isinstance(field, ForeignKeyField):
            if hasattr(unbound.field_class, "get_model"):
                unbound.field_class = _bounded_select(unbound.field_class)
        elif int_kind(field) is not None:
            extra.append(IntegerBounds(int_kind(field)))
        elif isinstance(field, DateField | DateTimeField):
            extra.append(DateBounds(model, name))
        elif isinstance(field, DecimalField):
            extra.append(FiniteNumber())
        elif isinstance(field, CharField | TextField):
            extra.append(PlainText())
        if extra:
            unbound.kwargs["validators"] = [*(unbound.kwargs.get("validators") or []), *extra]
