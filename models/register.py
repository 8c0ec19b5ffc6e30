"""What every register row shares: its estate, who made it, its version, voiding, and the audit log.

Every change goes through `save_record` or `void_record`: the rules are checked, the row is written
and its audit entry (who, when, field-level before/after) is added in the same transaction.
Rows are voided with a reason, never deleted (the manual asks for traceable written records).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

from flask_babel import gettext
from peewee import (
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    TextField,
    fn,
)

from models.base import (
    AwareDateTimeField,
    BaseModel,
    DocumentNumberField,
    RuleError,
    StaleRecordError,
    VersionedModel,
    mask_value,
    utcnow,
    write_transaction,
)
from models.estate import Estate
from models.i18n import L_, N_, office_str
from models.users import User, UserEstate

# Fields that never leave the database in clear, not even into the audit log.
SECRET_FIELDS = {"password_hash", "approval_pin_hash"}


class RegisterModel(VersionedModel):
    """Base of every register: belongs to an estate, is created by a user, voided not deleted."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="RESTRICT", verbose_name=L_("小区"))
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("登记人"))
    voided = BooleanField(default=False, index=True, verbose_name=L_("已作废"))
    void_reason = CharField(max_length=200, default="", verbose_name=L_("作废原因"))
    voided_at = AwareDateTimeField(null=True, verbose_name=L_("作废时间"))
    voided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                verbose_name=L_("作废人"))

    def after_write(self, before: dict) -> None:
        """After an edit, the row's active 超时 flags follow it to its new place in the grid's
        order (#14, jobs.flags.ROW_ORDER). A register that keeps more overrides this and calls
        it too."""
        if before:
            from jobs.flags import follow_row_order  # jobs builds on models: imported when used

            follow_row_order(self, [name for name, value in before.items()
                                    if self.__data__.get(name) != value])


class AuditLog(BaseModel):
    """Append-only trail: who did what to which row, with field-level before/after."""

    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                           verbose_name=L_("操作人"))
    username = CharField(max_length=32, default="", verbose_name=L_("用户名"))
    action = CharField(max_length=16, index=True, verbose_name=L_("操作"))
    table = CharField(max_length=64, default="", index=True, verbose_name=L_("表"))
    row_id = IntegerField(null=True, verbose_name=L_("记录号"))
    estate = ForeignKeyField(Estate, null=True, backref="+", on_delete="SET NULL",
                             verbose_name=L_("小区"))
    changes = TextField(default="", verbose_name=L_("变更内容"))
    summary = CharField(max_length=255, default="", verbose_name=L_("摘要"))

    class Meta:
        table_name = "audit_log"
        # Supervisors read their estates' rows (#11 item 7).
        indexes = ((("estate", "id"), False),)

    ACTION_LABELS = {
        "create": L_("新增"), "update": L_("修改"), "void": L_("作废"), "export": L_("导出"),
        "reveal": L_("查看证件号"), "login": L_("登录"), "logout": L_("退出"),
        "password": L_("改密码"), "login_failed": L_("登录失败"),
        "approve_failed": L_("前台审批验证失败"), "pin": L_("设置审批PIN"),
        "attach": L_("上传附件"), "file_view": L_("查看证件复印件"),
    }

    @classmethod
    def visible_to(cls, user):
        """The rows a user may read: admins all; others their estates' rows, rows about the
        people of their estates (logins, failed ones too, account changes) and the
        company-wide calendar's changes (which move their deadlines too)."""
        query = cls.select()
        if user.role == "admin":
            return query
        estates = user.estate_ids()
        people = UserEstate.select(UserEstate.user).where(UserEstate.estate.in_(estates))
        return query.where(
            cls.estate.in_(estates)
            | (cls.estate.is_null() & (
                cls.user.in_(people)
                | ((cls.table == "app_user") & cls.row_id.in_(people))
                | cls.table.in_(sorted(COMPANY_WIDE_TABLES)))))

    @property
    def changes_dict(self) -> dict:
        try:
            return json.loads(self.changes) if self.changes else {}
        except ValueError:
            return {}


# A record's audit rows, found by its number; the log newest first, and a user's, an action's
# or a table's rows in that order (migration 036, #14).
AuditLog.add_index(AuditLog.index(AuditLog.table, AuditLog.row_id, name="audit_log_row"))
AuditLog.add_index(AuditLog.index(AuditLog.created_at, name="audit_log_time"))
AuditLog.add_index(AuditLog.index(AuditLog.username, AuditLog.created_at, name="audit_log_user"))
AuditLog.add_index(AuditLog.index(AuditLog.action, AuditLog.created_at,
                                  name="audit_log_action_time"))
AuditLog.add_index(AuditLog.index(AuditLog.table, AuditLog.created_at, name="audit_log_table_time"))


def _plain(field, value):
    """A JSON-safe, masked rendering of a value for the audit log."""
    if field is not None and field.name in SECRET_FIELDS:
        return "***"
    if field is not None and isinstance(field, DocumentNumberField):
        return mask_value(field, value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def diff(model_class, before: dict, after: dict) -> dict:
    """Field-level {name: [before, after]} for what changed (bookkeeping fields left out)."""
    skip = {"updated_at", "version", "created_at"}
    fields = model_class._meta.fields
    changes = {}
    for name, field in fields.items():
        if name in skip or field.primary_key:
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [_plain(field, old), _plain(field, new)]
    return changes


def _estate_id(instance):
    if isinstance(instance, Estate):
        return instance.id
    return instance.__data__.get("estate")


# Rows about a person rather than a register row: they belong to that person's estate (#11).
PERSONAL_ACTIONS = frozenset({"login", "logout", "login_failed", "password", "run_job", "export"})
# Tables whose rows without an estate are company-wide, seen by every supervisor they affect.
COMPANY_WIDE_TABLES = frozenset({"calendar_override", "calendar_year"})


def home_estate_id(user_id) -> int | None:
    """The first estate a staff account works for (None for none, e.g. the system admin)."""
    if not user_id:
        return None
    return (UserEstate.select(fn.MIN(UserEstate.estate)).where(UserEstate.user == user_id)
            .scalar())


def _concerned_estate(user, action: str, table: str, row_id) -> int | None:
    """The estate an audit row without a register row's estate concerns (R-REC, #11 item 7):
    a user account's changes and logins belong to that user's estate; an export, a run-now or
    a password change to the actor's."""
    if table in COMPANY_WIDE_TABLES:
        return None
    if table == "app_user" and row_id:
        return home_estate_id(row_id)
    if action in PERSONAL_ACTIONS and user is not None:
        return home_estate_id(user.id)
    return None


def audit(user, action: str, *, instance=None, table: str = "", row_id=None, estate_id=None,
          changes: dict | None = None, summary: str = "") -> AuditLog:
    """Write one audit row (call inside the transaction of the change it records), with the
    estate it concerns wherever there is one (#11 item 7)."""
    if instance is not None:
        table = table or instance._meta.table_name
        row_id = row_id if row_id is not None else instance._pk
        estate_id = estate_id if estate_id is not None else _estate_id(instance)
    if estate_id is None:
        estate_id = _concerned_estate(user, action, table, row_id)
    return AuditLog.create(
        user=user.id if user is not None else None,
        username=user.username if user is not None else "system",
        action=action, table=table, row_id=row_id, estate=estate_id,
        changes=json.dumps(changes or {}, ensure_ascii=False, default=str),
        summary=summary[:255],
    )


def snapshot(instance) -> dict:
    """The row's values as loaded, to diff against after a form changed them."""
    return dict(instance.__data__)


# Said when the database refuses a row for a constraint no check above knew (a partial unique
# index, a race between two clerks): never a 500 (#13 item 7).
CONFLICT = N_("保存失败：与已有记录重复或冲突，请核对后重试。")


def _unique_keys(model) -> list[tuple[str, ...]]:
    """The field-name tuples the model declares unique (fields and Meta.indexes)."""
    keys = [(f.name,) for f in model._meta.sorted_fields if f.unique and not f.primary_key]
    for index in model._meta.indexes:
        if isinstance(index, tuple | list) and len(index) == 2 and index[1] is True:
            keys.append(tuple(index[0]))
    return keys


def check_unique(instance) -> None:
    """Refuse a duplicate of a unique key with a Chinese message next to its field."""
    model = type(instance)
    pk = model._meta.primary_key
    for names in _unique_keys(model):
        values = [instance.__data__.get(name) for name in names]
        if any(value in (None, "") for value in values):
            continue
        query = model.select(pk).where(*[model._meta.fields[name] == value
                                         for name, value in zip(names, values, strict=True)])
        if instance._pk is not None:
            query = query.where(pk != instance._pk)
        if query.exists():
            name = next((n for n in reversed(names) if n != "estate"), names[-1])
            label = model._meta.fields[name].verbose_name or name
            raise RuleError({name: gettext("%(label)s“%(value)s”已存在，不能重复",
                                           label=label, value=instance.__data__.get(name))})


def save_record(instance, user, *, before: dict | None = None,
                expected_version: int | None = None):
    """Validate, write and audit one row in one transaction.

    For an update, `before` is the snapshot taken before the form changed the row and
    `expected_version` the version the editor saw; if the row moved on meanwhile the save is
    refused with StaleRecordError and nothing is written. A duplicate of a unique key is a
    RuleError next to its field, and any other constraint the database enforces a RuleError
    too (the transaction is rolled back first).
    """
    try:
        return _save_record(instance, user, before=before, expected_version=expected_version)
    except IntegrityError:
        raise RuleError(gettext(CONFLICT)) from None


def _save_record(instance, user, *, before, expected_version):
    model = type(instance)
    is_new = instance._pk is None
    if not is_new:
        instance.before_update()
    instance.full_clean()
    with write_transaction():
        check_unique(instance)
        if is_new:
            if "created_by" in model._meta.fields and user is not None:
                instance.created_by = user.id
            # A register fills what it derives (numbers, deadlines) inside the transaction.
            instance.before_create(user)
            instance.save(force_insert=True)
            audit(user, "create", instance=instance,
                  changes=diff(model, {}, instance.__data__), summary=office_str(instance)[:200])
            instance.after_create(user)
            instance.after_write({})
            return instance
        before = before if before is not None else snapshot(model.get_by_id(instance._pk))
        changes = diff(model, before, instance.__data__)
        if expected_version is None:
            expected_version = before.get("version")
        if not changes:
            current = model.select(model.version).where(model._meta.primary_key
                                                        == instance._pk).scalar()
            if current != expected_version:
                raise StaleRecordError()
            return instance
        instance.updated_at = utcnow()
        values = {model._meta.fields[name]: instance.__data__.get(name) for name in changes}
        values[model.updated_at] = instance.updated_at
        values[model.version] = model.version + 1
        updated = (model.update(values)
                   .where(model._meta.primary_key == instance._pk,
                          model.version == expected_version)
                   .execute())
        if updated != 1:
            raise StaleRecordError()
        instance.version = expected_version + 1
        instance.after_write(before)
        audit(user, "update", instance=instance, changes=changes,
              summary=office_str(instance)[:200])
        return instance


def void_record(instance, user, reason: str, *, expected_version: int | None = None):
    """Void a row with a reason; it stays in the register, hidden by default, and is audited."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleError({"reason": gettext("请填写作废原因")})
    if len(reason) > 200:
        raise RuleError({"reason": gettext("作废原因不能超过 200 个字")})
    if instance.voided:
        raise RuleError({"": gettext("该记录已经作废")})
    model = type(instance)
    expected = instance.version if expected_version is None else expected_version
    now = utcnow()
    before = snapshot(instance)
    with write_transaction():
        updated = (model.update({model.voided: True, model.void_reason: reason,
                                 model.voided_at: now,
                                 model.voided_by: user.id if user else None,
                                 model.updated_at: now, model.version: model.version + 1})
                   .where(model._meta.primary_key == instance._pk,
                          model.version == expected, model.voided == False)  # noqa: E712
                   .execute())
        if updated != 1:
            raise StaleRecordError()
        instance.voided, instance.void_reason, instance.voided_at = True, reason, now
        instance.voided_by = user.id if user else None
        instance.version = expected + 1
        instance.after_write(before)
        audit(user, "void", instance=instance, changes={"void_reason": [None, reason]},
              summary=office_str(instance)[:200])
    return instance


def change_record(instance, user, *, expected_version: int | None = None, **values):
    """Apply a state change's values and save them audited, version-checked, in one transaction."""
    before = snapshot(instance)
    for name, value in values.items():
        setattr(instance, name, value)
    return save_record(instance, user, before=before, expected_version=expected_version)


class StatefulMixin:
    """One transition helper for every register whose rows move through states.

    A state change checks the row may take it (`require_state`: not voided, in one of the
    allowed states) and then writes the new state and its values, version-checked and audited,
    with the register's history row, in one transaction (`transition`). A register names its
    state column (`state_field`) and, if it keeps a history table of its own beyond the audit
    log, writes it in `record_transition`.
    """

    state_field = "state"
    # "{doing}" names the refused step (require_state's `doing`).
    voided_message = N_("该记录已作废，不能再{doing}")

    @property
    def current_state_label(self) -> str:
        field = self._meta.fields[self.state_field]
        value = getattr(self, self.state_field)
        return dict(field.choices or ()).get(value, value)

    def require_state(self, states=None, message: str = N_("当前状态为“{state}”，不能办理"),
                      doing: str = N_("操作")) -> None:
        """Refuse (a RuleError on the form's top) unless the row is live and in `states`
        (None: any state; a voided row stays readable but takes no further steps)."""
        if getattr(self, "voided", False):  # the deposit ledger has no void columns
            raise RuleError({"": gettext(self.voided_message).replace("{doing}",
                                                                      gettext(doing))})
        if states is not None and getattr(self, self.state_field) not in states:
            label = str(self.current_state_label)
            # replace, not format: the message may quote what a person typed.
            raise RuleError({"": gettext(message).replace("{state}", label)
                             .replace("{status}", label)})

    def transition(self, user, to_state: str | None = None, *, action: str = "",
                   note: str = "", expected_version: int | None = None, **values):
        """Move to `to_state` (None: stay) with `values`, audited, with its history row."""
        # A register without a state column (a hand-over, a lease) has no from-state.
        from_state = getattr(self, self.state_field, None)
        if to_state is not None:
            values[self.state_field] = to_state
        with write_transaction():
            change_record(self, user, expected_version=expected_version, **values)
            self.record_transition(user, action, from_state, note)
        return self

    def record_transition(self, user, action: str, from_state, note: str) -> None:
        """Write the register's own history row (the audit log already has the change)."""
