"""The database handle, the model base class and the field types every register shares.

Peewee is bound late through a DatabaseProxy so the application factory (and each test) picks the
database. Times are stored as naive UTC and handed to Python as aware datetimes; the office zone
(Asia/Shanghai by default) is applied at the edges — forms, lists, prints and the deadline engine.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext
from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SmallIntegerField,
    SqliteDatabase,
    TextField,
)
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledDatabase, PooledSqliteDatabase

from models import deadlines, validators
from models.i18n import L_

db = DatabaseProxy()


def set_office_timezone(name: str) -> None:
    """Set the zone used to show and enter times (OFFICE_TZ); the deadline engine keeps it."""
    deadlines.set_office_timezone(name)


def office_tz() -> ZoneInfo:
    return deadlines.office_timezone()


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC (the callable every default uses)."""
    return dt.datetime.now(dt.UTC)


def to_office(value: dt.datetime | None) -> dt.datetime | None:
    """Return an aware datetime in the office zone (naive input is taken as office wall time)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=office_tz())
    return value.astimezone(office_tz())


class RuleError(Exception):
    """A business rule refused the change; `errors` maps field name (or '') to a Chinese message."""

    # A refusal of what was given, which `gather` collects with the others; False for one that
    # is no fault of the input (a stale form, a failing file store): it ends the step at once.
    gathered = True

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = errors
        super().__init__("; ".join(map(str, errors.values())))  # lazy labels too (#12 item 2)


class StaleRecordError(RuleError):
    """Somebody else saved the row since this form was opened (optimistic concurrency)."""

    gathered = False

    def __init__(self) -> None:
        super().__init__(
            {"": "保存失败：这条记录已被其他人修改。您填写的内容仍保留在表单中，"
                 "请打开最新版本核对后再保存。"}
        )


def office_day(moment: dt.datetime | dt.date | None = None) -> dt.date:
    """The office's calendar day of a moment (today when None); a date is returned as is."""
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        return moment
    return to_office(moment or utcnow()).date()


def check_moment(value: dt.datetime | None, *, field_name: str, label: str,
                 not_before: dt.datetime | None = None, before_label: str = "") -> dt.datetime:
    """A moment an action happened: now when empty, never in the future, never before its cause."""
    value = value or utcnow()
    if value > utcnow() + dt.timedelta(minutes=5):
        raise RuleError({field_name: gettext("%(label)s不能晚于现在", label=label)})
    if not_before is not None and value < not_before:
        raise RuleError({field_name: gettext("%(label)s不能早于%(before_label)s",
                                             label=label, before_label=before_label)})
    return value


# --- connection -------------------------------------------------------------------------------

SQLITE_PRAGMAS = {
    # WAL lets the front desk read while a job writes; the busy timeout makes a writer wait
    # for the lock instead of failing at once; foreign keys are off in SQLite unless asked.
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


# A pooled connection opened longer ago than this is closed (and replaced) when next handed
# out or given back.
POOL_STALE_SECONDS = 600
# A request finding every pooled connection in use waits this long for one, then fails.
POOL_WAIT_SECONDS = 30


def open_database(url: str, pool: int = 0):
    """Return an unconnected peewee Database for a DATABASE_URL (sqlite:///path or postgresql://).

    pool > 0 (DATABASE_POOL): keep up to that many connections open and hand them from request
    to request. A fresh SQLite connection reads the whole schema again (~60 tables) and starts
    with an empty page cache, and the last one to close checkpoints the WAL: about 1.6 ms of
    CPU a request on the demo database (#14 throughput). Connections move between a worker's
    threads, hence check_same_thread off; a transaction left open is rolled back on return.
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if pool and path != ":memory:":
            return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, max_connections=pool,
                                        stale_timeout=POOL_STALE_SECONDS,
                                        timeout=POOL_WAIT_SECONDS, check_same_thread=False)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=5)
    if pool and url.startswith(("postgresql://", "postgres://")):
        database = connect_url(url.replace("://", "+pool://", 1), max_connections=pool,
                               stale_timeout=POOL_STALE_SECONDS, timeout=POOL_WAIT_SECONDS)
    else:
        database = connect_url(url)
    if not isinstance(database, PostgresqlDatabase):
        raise ValueError(f"不支持的数据库：{url.split(':', 1)[0]}（请使用 sqlite 或 postgresql）")
    return database


def close_database(database) -> None:
    """Close a database's connection, and every connection of its pool (a rebind, shutdown)."""
    if database is None:
        return
    if not database.is_closed():
        database.close()
    if isinstance(database, PooledDatabase):
        database.close_all()


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def write_transaction():
    """Open a transaction for read-then-write work.

    SQLite's default deferred transaction fails at once with "database is locked" when it tries
    to upgrade a read lock while another writer holds the database (FINDINGS: SQLite under
    concurrency); BEGIN IMMEDIATE takes the write lock up front and waits its busy timeout.
    """
    if is_sqlite():
        return db.atomic("IMMEDIATE")
    return db.atomic()


# --- fields -----------------------------------------------------------------------------------


class AwareDateTimeField(DateTimeField):
    """A moment in time: stored as naive UTC, returned aware (UTC)."""

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = super().python_value(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                # Naive input comes from people and forms: it is office wall time.
                value = value.replace(tzinfo=office_tz())
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        return value


class CleanedFieldMixin:
    """A field that normalises and checks its own value (see BaseModel.full_clean)."""

    cleaner: Callable[[object], object] | None = None

    def clean(self, value):
        if value in (None, "") or self.cleaner is None:
            return value
        return type(self).cleaner(value)


class MoneyField(CleanedFieldMixin, DecimalField):
    """Yuan as Decimal with 2 places, never negative (DESIGN: money is never float)."""

    cleaner = staticmethod(validators.clean_money)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("auto_round", False)
        super().__init__(*args, **kwargs)

    def python_value(self, value):
        # SQLite hands back 35.5 for 35.50: money always reads with its two places.
        value = super().python_value(value)
        return value.quantize(Decimal("0.01")) if isinstance(value, Decimal) else value

    def clean(self, value):
        if isinstance(value, float):
            value = Decimal(str(value))
        return super().clean(value)


class PhoneField(CleanedFieldMixin, CharField):
    """A mainland mobile or landline number, normalised."""

    cleaner = staticmethod(validators.clean_phone)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(*args, **kwargs)


class MobileField(PhoneField):
    cleaner = staticmethod(validators.clean_mobile)


class DocumentNumberField(CharField):
    """An identity document number: masked in lists, exports, sheets and the audit log.

    `doc_type_field` names the sibling field holding the document type ("resident_id" gets the
    GB 11643 check; "other" a plain format check).
    """

    sensitive = True

    def __init__(self, *args, doc_type_field: str = "doc_type", **kwargs):
        kwargs.setdefault("max_length", 32)
        self.doc_type_field = doc_type_field
        super().__init__(*args, **kwargs)


class DocTypeField(CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("choices", [(code, L_(label)) for code, label in validators.DOC_TYPES])
        kwargs.setdefault("default", "resident_id")
        kwargs.setdefault("verbose_name", L_("证件类型"))
        super().__init__(*args, **kwargs)


def mask_value(field, value):
    """Return how a value may be shown to someone without the reveal permission."""
    if value in (None, ""):
        return value
    if isinstance(field, DocumentNumberField):
        return validators.mask_id_number(str(value))
    return value


# --- bounds (#13 item 7) -----------------------------------------------------------------------


def int_kind(field) -> str | None:
    """The width of an integer column ("small", "int", "big"), or None for other columns.

    A foreign key has its target's width; AutoField ids are INTEGER (SERIAL) on PostgreSQL.
    """
    if isinstance(field, ForeignKeyField):
        field = field.rel_field
    if not isinstance(field, Field):
        return None
    if isinstance(field, BigIntegerField | BigAutoField):
        return "big"
    if isinstance(field, SmallIntegerField):
        return "small"
    if isinstance(field, IntegerField):
        return "int"
    return None


def bounds_error(model, field, value) -> str | None:
    """The Chinese message for a value its column cannot hold or its rule's range refuses."""
    if isinstance(field, CharField | TextField):
        return validators.check_plain_text(value)
    if isinstance(value, Model):
        value = value._pk
    kind = int_kind(field)
    if kind is not None:
        return validators.check_int_range(value, kind)
    if isinstance(field, DateField | DateTimeField):
        low, high = model.date_range(field.name)
        return validators.check_date_range(value, low, high)
    return None


# --- models -----------------------------------------------------------------------------------


class BaseModel(Model):
    """Every table: tz-aware timestamps, validation with Chinese messages."""

    created_at = AwareDateTimeField(default=utcnow, verbose_name=L_("创建时间"))
    updated_at = AwareDateTimeField(default=utcnow, verbose_name=L_("更新时间"))

    class Meta:
        database = db
        legacy_table_names = False

    def before_create(self, user) -> None:
        """Fill derived values of a new row (inside save_record's transaction)."""

    def before_update(self) -> None:
        """Recompute derived values after an edit, before the rules run."""

    def after_create(self, user) -> None:
        """Write companion rows of a new row, e.g. its first history step (same transaction)."""

    def after_write(self, before: dict) -> None:
        """Mark what is kept elsewhere from this row as changed (same transaction), after a
        create (`before` empty), an update or a void (`before` the row as it was): the monthly
        review's counts of a demand, callback or work order (models/review_months.py), a
        register row's 超时 flags' place in its grid's order (models/register.py)."""

    def validate(self) -> Iterable[tuple[str, str]]:
        """Yield (field name, Chinese message) for each broken rule; overridden per register."""
        return ()

    @classmethod
    def date_range(cls, name: str) -> tuple[dt.date | None, dt.date | None]:
        """The dates field `name` accepts (None: the default 1900–2100); a register narrows it."""
        return None, None

    def full_clean(self) -> None:
        """Normalise fields, check required ones and the model's rules; raise RuleError."""
        errors: dict[str, str] = {}
        for field in self._meta.sorted_fields:
            name = field.name
            value = self.__data__.get(name)
            message = bounds_error(type(self), field, value)
            if message:
                # Out of its column's range or holding control characters: nothing else about
                # this value is worth checking (and it must never reach the database).
                errors[name] = message
                continue
            if value is None and not field.null and isinstance(field.default, str):
                # A text box left out of a post means "empty", not NULL.
                value = field.default
                setattr(self, name, value)
            if isinstance(field, CleanedFieldMixin):
                try:
                    setattr(self, name, field.clean(value))
                except (ValueError, TypeError) as exc:
                    errors[name] = str(exc)
            elif isinstance(field, DocumentNumberField) and value:
                doc_type = self.__data__.get(field.doc_type_field, "resident_id")
                try:
                    setattr(self, name, validators.clean_document_number(doc_type, value))
                except ValueError as exc:
                    errors[name] = str(exc)
            elif isinstance(value, str) and isinstance(field, CharField):
                value = value.strip()
                setattr(self, name, value)
                if field.max_length and len(value) > field.max_length:
                    errors[name] = gettext("不能超过 %(max_length)s 个字",
                                           max_length=field.max_length)
            if (
                not field.null
                and not field.primary_key
                and field.default is None
                and self.__data__.get(name) in (None, "")
                and not isinstance(field, BooleanField)
                and name not in errors
            ):
                errors[name] = gettext("此项必填")
        # The model's own rules run even when a field failed, so the clerk sees every problem
        # at once; a field keeps its first message.
        for name, message in self.validate():
            errors.setdefault(name, message)
        if errors:
            raise RuleError(errors)


class VersionedModel(BaseModel):
    """A row people edit: a version number guards against lost updates (optimistic locking)."""

    version = IntegerField(default=1, verbose_name=L_("版本"),
                           help_text=L_("每次保存加一；打开表单后他人已保存则拒绝覆盖"))
