"""How a register is mirrored: one small declaration per register, and how its cells are written.

A register declares its mirror with `Mirror(...)` in `sync/registers.py`: the command-line name,
the tab title (Chinese), and the columns in order as field paths ("name", "unit.code",
"building.cluster.name"). Headers come from the fields' `verbose_name` (for a path through a
foreign key, the foreign key's own label: "unit.code" is headed 房屋), so the sheet, the admin grid
and the import all speak the same words. Column A is always the row id, the stable key.

Every value becomes text the way the admin grid shows it: choices as their labels, times in the
office zone, and identity numbers and phone numbers masked (managers never get full IDs). The
text is written RAW, so "=SUM(A1)", "+86…", "-1" or "@x" typed by a clerk stay text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import BooleanField, DateField, DecimalField, Field, ForeignKeyField

from models.base import DocumentNumberField, PhoneField, to_office
from models.i18n import office_text
from models.validators import mask_id_number, mask_phone

# Column A: the record's id. The header doubles as the note that the tab belongs to the mirror
# (the fake Sheets server, like many emulators, models neither protected ranges nor cell notes).
KEY_HEADER = "记录号（系统自动同步，手工修改会被覆盖）"

# Google refuses a cell holding more than 50,000 characters; a long note is cut, not dropped.
MAX_CELL_CHARS = 50_000
TRUNCATED = "…（已截断）"


@dataclass(frozen=True)
class Column:
    """One mirrored column: a field path, and optionally a header other than its verbose_name.

    A computed column names more fields in `extra` and a `render(value, *extra_values) -> str`
    that writes the cell from all of them (e.g. 超期 on 投诉登记). Values must not depend on the
    clock: the mirror rewrites a row only when the row (or a row it joins) changes.
    """

    path: str
    header: str | None = None
    extra: tuple[str, ...] = ()
    render: Callable[..., str] | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.extra)


@dataclass(frozen=True)
class Mirror:
    """The mirror of one register (see the module docstring).

    `year_field` names the date that splits the tab by year ("住户 2026") once one tab would pass
    the cell limit. `natural_key` and `lookups` serve `sheets import`: the fields that identify a
    row already in the register, and for each foreign key the related field a sheet names it by
    (a unit by its code). `where` narrows the rows further than "this estate, not voided".
    """

    name: str
    title: str
    model: type
    columns: tuple[Column | str, ...]
    year_field: str = "created_at"
    natural_key: tuple[str, ...] = ()
    lookups: dict[str, str] = field(default_factory=dict)
    where: Callable | None = None

    def __post_init__(self) -> None:
        columns = tuple(c if isinstance(c, Column) else Column(c) for c in self.columns)
        object.__setattr__(self, "columns", columns)
        for column in columns:
            for path in column.paths:
                resolve(self.model, path)  # fail at import, not in the night job

    @property
    def headers(self) -> tuple[str, ...]:
        """Row 1 of the tab: the key column, then each column's header."""
        return (KEY_HEADER, *(header_of(self.model, c) for c in self.columns))


def resolve(model, path: str) -> tuple[list[ForeignKeyField], Field]:
    """The foreign keys followed by a dotted path, and the field it ends on."""
    hops: list[ForeignKeyField] = []
    current = model
    names = path.split(".")
    for name in names[:-1]:
        fk = current._meta.fields.get(name)
        if not isinstance(fk, ForeignKeyField):
            raise ValueError(f"{model.__name__}: {path!r}: {name!r} is not a foreign key")
        hops.append(fk)
        current = fk.rel_model
    last = current._meta.fields.get(names[-1])
    if last is None:
        raise ValueError(f"{model.__name__}: {path!r}: no field {names[-1]!r}")
    return hops, last


def header_of(model, column: Column) -> str:
    if column.header:
        return column.header
    hops, last = resolve(model, column.path)
    labelled = hops[-1] if hops else last
    return office_text(labelled.verbose_name) or labelled.name


def formatter(field_: Field) -> Callable[[object], str]:
    """How a stored value of this field is shown in the sheet (and in the preview)."""
    if isinstance(field_, DocumentNumberField):
        return lambda v: mask_id_number(str(v)) if v else ""
    if isinstance(field_, PhoneField):
        return lambda v: mask_phone(str(v)) if v else ""
    if field_.choices:
        labels = {str(k): office_text(label) for k, label in field_.choices}
        return lambda v: "" if v is None else labels.get(str(v), str(v))
    if isinstance(field_, BooleanField):
        return lambda v: "" if v is None else ("是" if v else "否")
    if isinstance(field_, DecimalField):
        places = field_.decimal_places
        return lambda v: "" if v is None else f"{Decimal(v):.{places}f}"
    if isinstance(field_, DateField):
        return lambda v: v.isoformat() if isinstance(v, dt.date) else ("" if v is None else str(v))
    return to_text


def to_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return to_office(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - len(TRUNCATED)] + TRUNCATED
    return text


def year_of(value: object) -> int | None:
    """The office-calendar year of a date or moment (None when unknown)."""
    if isinstance(value, dt.datetime):
        return to_office(value).year
    if isinstance(value, dt.date):
        return value.year
    return None
