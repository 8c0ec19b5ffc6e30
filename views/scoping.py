"""What a user may see: queries, pick-lists and grid filters narrowed to their estates (and,
for department staff, to their own department's work), and the 作废状态 filter (voided rows
are hidden unless asked)."""

from __future__ import annotations

from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_admin.contrib.peewee.filters import BasePeeweeFilter, FilterEqual
from flask_babel import gettext
from flask_login import current_user
from peewee import SQL, Case, fn

from jobs.flags import RARE
from models.base import is_sqlite
from models.i18n import L_
from models.org import Department
from models.users import acts_for, department_kinds_of
from views.form_bounds import parse_bounded_int


def scope_to_user(query, model, *, include_voided: bool = False):
    """Narrow a query on `model` to the current user's estates (and to rows not voided)."""
    if current_user.role != "admin":
        estate_ids = current_user.estate_ids()
        if model.__name__ == "Estate":
            query = query.where(model.id.in_(estate_ids))
        elif "estate" in model._meta.fields:
            query = query.where(model.estate.in_(estate_ids))
    if "voided" in model._meta.fields and not include_voided:
        query = query.where(model.voided == False)  # noqa: E712
    return query


def scope_to_department(query, model, user=None):
    """R-REC-4 (#11 item 5): department staff see only their own department's rows of a
    register dispatched to departments (work orders, demands and their callbacks); everyone
    else is unaffected. `model` has a `department` column."""
    user = user or current_user
    if getattr(user, "role", None) != "dept":
        return query
    mine = Department.select(Department.id).where(Department.kind == user.department)
    return query.where(model.department.in_(mine))


def may_act_on(row, user=None) -> bool:
    """Whether the user may act on this row's department work (the RowAction check beside
    the model's own refusal, `models.users.require_department_work`)."""
    user = user or current_user
    if getattr(user, "role", None) != "dept":
        return acts_for(user, None)
    return any(acts_for(user, kind) for kind in department_kinds_of(row))


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Searchable pick-list (type to search) that only offers rows of the user's estates."""

    def get_one(self, pk):
        pk = parse_bounded_int(pk)
        if pk is None:
            return None
        return scope_to_user(self.model.select(), self.model).where(
            self.model._meta.primary_key == pk).first()

    def get_list(self, term, offset=0, limit=20):
        query = scope_to_user(self.model.select(), self.model)
        if not term:
            return list(query.order_by(*self._cached_fields).offset(offset).limit(limit))
        condition, exact, prefix = None, None, None
        for field in self._cached_fields:
            clause = field.contains(term)
            condition = clause if condition is None else condition | clause
            same = field == term
            exact = same if exact is None else exact | same
            starts = field.startswith(term)
            prefix = starts if prefix is None else prefix | starts
        # Phone intake (#12 item 8): typing 3-1-502 must offer 3-1-502 before 13-1-502, so
        # Enter picks the flat the caller named — exact match, then prefix, then the rest.
        rank = Case(None, ((exact, 0), (prefix, 1)), 2)
        return list(query.where(condition).order_by(rank, *self._cached_fields)
                    .offset(offset).limit(limit))


class WalkedEqualFilter(FilterEqual):
    """An equality on a column of few values that has its own (column, id) index, for a grid
    listed newest first by id (通知发送记录's channel and event, migration 036, #14). SQLite's
    ANALYZE rates such a column as unselective (half the rows a value), so it walked every
    row newest first looking for a channel that has few (in-app messages: 283 ms among two
    million SMS); weighted as rare (likelihood) it walks the value's own rows in id order,
    which is as quick for a common value. PostgreSQL's statistics know each value's share."""

    def apply(self, query, value):
        if not is_sqlite():
            return super().apply(query, value)
        return query.filter(fn.likelihood(self.column == value, SQL(repr(RARE))))


class RelationFilter(FilterEqual):
    """Filter by a related row (部门, 楼栋…) chosen from a drop-down of the user's own rows."""

    def __init__(self, column, name):
        super().__init__(column, name, options=())

    def scoped_options(self):
        """The drop-down's rows, built on every page view of the grid. A register that grows
        with the years (meetings, service batches, survey rounds) declares
        `filter_recent_options = N` beside its model: its newest N are offered, newest first
        (read backwards along the primary key, both planners stop after N), so the grid's
        page stays the same work as the related register grows (#14: the committee-item and
        service-registration grids built 500 options of 1,000 meetings / 2,000 batches at
        1M, two thirds of the page). An older one is still filtered by from its own page's
        link (the filter takes any id). Other relations (buildings, departments) keep their
        first 500."""
        rel = self.column.rel_model
        query = scope_to_user(rel.select(), rel)
        recent = getattr(rel, "filter_recent_options", None)
        if recent:
            query = query.order_by(rel._meta.primary_key.desc()).limit(recent)
        else:
            query = query.limit(500)
        return [(str(row.id), str(row)) for row in query]


class VoidStateFilter(BasePeeweeFilter):
    """作废状态: valid rows are the default; this filter shows voided ones too or only."""

    def __init__(self, column):
        super().__init__(column, L_("作废状态"),
                         options=(("valid", L_("有效")), ("voided", L_("已作废")),
                                  ("all", L_("全部"))))

    def apply(self, query, value):
        if value == "voided":
            return query.where(self.column == True)  # noqa: E712
        if value == "valid":
            return query.where(self.column == False)  # noqa: E712
        return query

    def operation(self):
        return gettext("为")
