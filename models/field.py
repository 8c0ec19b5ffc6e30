"""Department staff in the field (issue #16): what the phone page adds to the work orders.

* `Submission`: one post from the phone (到场, 完工 with photos and a signature) carries a key
  made when its form was shown; the key is stored in the same transaction as the change, so a
  retry after a lost answer (a basement, a lift) finds it and changes nothing a second time.
* `FieldVisit`: when a user last looked at 我的工单 (orders dispatched since are marked new).
* `field_orders`: the orders a user's phone page lists — their department's (R-REC-4), in their
  estates, open, most urgent first. The filter is written here on purpose: the phone page does
  not depend on how the admin grids scope departments.
* `complete_with_files`: 完工 with its photos and the owner's signature, through the work
  order's own `complete` (its rules are not repeated here).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools

from flask_babel import gettext
from peewee import JOIN, SQL, CharField, Column, ForeignKeyField, IntegerField

from models.attachments import AttachmentKind, CheckedFile, attach
from models.base import (
    AwareDateTimeField,
    BaseModel,
    RuleError,
    StaleRecordError,
    utcnow,
    write_transaction,
)
from models.demands import Demand
from models.i18n import L_
from models.org import Department
from models.users import User
from models.work_orders import WorkOrder

# The completion deadline of an order without a demand's reply deadline (as the overdue rule's
# default, jobs/rules/work_orders.py).
DEFAULT_COMPLETION = dt.timedelta(hours=48)


class Submission(BaseModel):
    """A phone form's post, kept by its key so a retry is answered, not applied again."""

    key = CharField(max_length=64, unique=True, verbose_name=L_("提交编号"))
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE", verbose_name=L_("提交人"))
    table = CharField(max_length=64, verbose_name=L_("登记簿"))
    row_id = IntegerField(verbose_name=L_("记录号"))
    action = CharField(max_length=16, verbose_name=L_("操作"))

    class Meta:
        table_name = "field_submission"

    @classmethod
    def done(cls, key: str, user) -> Submission | None:
        """The earlier post with this key by this user, if it was applied."""
        if not key:
            return None
        return cls.get_or_none(cls.key == key[:64], cls.user == user.id)


class FieldVisit(BaseModel):
    """When a user last opened 我的工单."""

    user = ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE",
                           verbose_name=L_("用户"))
    seen_at = AwareDateTimeField(default=utcnow, verbose_name=L_("查看时间"))

    class Meta:
        table_name = "field_visit"

    @classmethod
    def look(cls, user, now: dt.datetime | None = None) -> dt.datetime | None:
        """Record this look; return the previous one (None the first time)."""
        now = now or utcnow()
        with write_transaction():
            visit = cls.get_or_none(cls.user == user.id)
            if visit is None:
                cls.create(user=user.id, seen_at=now)
                return None
            previous = visit.seen_at
            cls.update(seen_at=now, updated_at=now).where(cls.id == visit.id).execute()
        return previous


def department_ids(user):
    """The departments (rows, one per estate) of the user's department kind in their estates."""
    return Department.select(Department.id).where(
        Department.kind == user.department, Department.estate.in_(user.estate_ids()))


def orders_for(user):
    """Every order the user's phone page may open: their department's, in their estates.

    Staff without a department (the desk, managers) see all departments' orders of their
    estates; department staff only their own department's (R-REC-4).
    """
    query = WorkOrder.select().where(WorkOrder.voided == False,  # noqa: E712
                                     WorkOrder.estate.in_(user.estate_ids()))
    if user.role == "dept":
        query = query.where(WorkOrder.department.in_(department_ids(user)))
    return query


def deadline_of(order: WorkOrder, reply_due: dt.datetime | None) -> dt.datetime:
    """When the order should be finished: its demand's promise, else the default hours."""
    return reply_due or order.dispatched_at + DEFAULT_COMPLETION


# The order's deadline as migration 030 keeps it on the row (the database's triggers):
# COALESCE(demand.reply_due, work_order.dispatched_at), the phone page's order (#14).
DEADLINE = Column(WorkOrder._meta.table, "deadline")
# The open states written as the partial indexes of migration 030 have them: a planner uses a
# partial index only when the query's condition is the index's, literals and all.
OPEN_STATES = WorkOrder.state.in_([SQL("'open'"), SQL("'arrived'")])


def _open_orders(user):
    """The user's open and arrived orders in deadline order (rows carry `reply_due`, the
    owner's words and `field_deadline`, the order's key)."""
    return (orders_for(user)
            .select_extend(Demand.reply_due.alias("reply_due"),
                           Demand.contact_name.alias("owner_name"),
                           Demand.contact_phone.alias("owner_phone"),
                           Demand.description.alias("owner_words"),
                           DEADLINE.alias("field_deadline"))
            .join(Demand, on=(WorkOrder.demand == Demand.id), join_type=JOIN.LEFT_OUTER)
            .where(OPEN_STATES)
            .order_by(DEADLINE, WorkOrder.id)
            .objects())


def _read(query, condition, limit: int):
    """The first `limit` rows of the query that match `condition`, read lazily."""
    return query.where(condition).limit(limit).iterator()


def field_orders(user, limit: int = 200) -> list[WorkOrder]:
    """我的工单: open and arrived orders, mine first, then by deadline — the demand's reply
    deadline, else the dispatch time — and id (rows carry `reply_due`).

    Two reads in the indexes' order, each stopping after its rows (#14, migration 030): mine,
    then the others, read per department (department staff) or per estate (the desk, managers)
    and merged: each read is one index range in the page's order.
    """
    query = _open_orders(user)
    rows = list(_read(query, WorkOrder.assignee == user.id, limit))
    rest = limit - len(rows)
    if rest <= 0:
        return rows
    others = WorkOrder.assignee.is_null() | (WorkOrder.assignee != user.id)
    if user.role == "dept":  # each of their departments (one per estate)
        scopes = [WorkOrder.department == d for (d,) in
                  department_ids(user).order_by(Department.id).tuples()]
    else:  # every department of each of their estates
        scopes = [WorkOrder.estate == e for e in sorted(user.estate_ids())]
    merged = heapq.merge(*(_read(query, others & scope, rest) for scope in scopes),
                         key=lambda row: (row.field_deadline, row.id))
    return rows + list(itertools.islice(merged, rest))


def complete_with_files(order: WorkOrder, user, *, key: str, files, values: dict) -> None:
    """完工 with its photos and signature, in one transaction, once per key.

    `files` is [(AttachmentKind, CheckedFile)], checked before anything is written.
    """
    with write_transaction():
        if Submission.done(key, user):
            return
        order.complete(user, **values)
        for kind, checked in files:
            attach(order, user, kind, checked)
        remember(key, user, order, "complete")


def arrive_once(order: WorkOrder, user, *, key: str, expected_version=None) -> None:
    """到场, once per key."""
    with write_transaction():
        if Submission.done(key, user):
            return
        order.record_arrival(user, expected_version=expected_version)
        remember(key, user, order, "arrive")


def attach_once(order: WorkOrder, user, *, key: str,
                files: list[tuple[AttachmentKind, CheckedFile]]) -> None:
    """Photos added on their own (before the work starts), once per key."""
    if not files:
        raise RuleError({"before": gettext("请先拍照或选择照片")})
    with write_transaction():
        if Submission.done(key, user):
            return
        for kind, checked in files:
            attach(order, user, kind, checked)
        remember(key, user, order, "attach")


def remember(key: str, user, order, action: str) -> None:
    if key:
        Submission.create(key=key[:64], user=user.id, table=order._meta.table_name,
                          row_id=order.id, action=action)


def reassign(order: WorkOrder, user, assignee_id, *, expected_version=None) -> None:
    """The phone page's 改派: the register's own step (WorkOrder.reassign: who may, to whom),
    its message about the person next to the phone form's field."""
    try:
        order.reassign(user, assignee_id=assignee_id, expected_version=expected_version)
    except StaleRecordError:
        raise
    except RuleError as error:
        raise RuleError({"assignee" if name == "assignee_id" else name: message
                         for name, message in error.errors.items()}) from None


def colleagues(order: WorkOrder):
    """Who the order may be reassigned to: active members of its department in its estate."""
    from models.users import UserEstate

    department = Department.get_by_id(order.department_id)
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == order.estate_id)
    return (User.select().where(User.active == True, User.role == "dept",  # noqa: E712
                                User.department == department.kind, User.id.in_(linked))
            .order_by(User.display_name))
