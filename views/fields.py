"""What register views share besides the base: form fields, pick-lists, filters, cell formats."""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_admin.contrib.peewee.filters import BasePeeweeFilter
from flask_babel import gettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from models.base import utcnow
from models.i18n import L_
from models.money import yuan
from models.office import staff_of
from models.users import DESK, MANAGERS, User, UserEstate
from views.forms import LocalDateTimeField, choices

NOBODY = frozenset()
DESK_AND_DEPT = DESK | {"dept"}
DATE_FORMAT = "%Y-%m-%d"
UNIT_LOOKUP = {"fields": ("code",), "page_size": 20,
               "placeholder": L_("输入房屋编号搜索，如 3-1-502")}
RESIDENT_LOOKUP = {"fields": ("name", "phone"), "page_size": 20,
                   "placeholder": L_("输入住户姓名或电话搜索")}


def when_field(label: str) -> LocalDateTimeField:
    """A moment of an action, "now" when left empty."""
    return LocalDateTimeField(label, validators=[Optional()], description=L_("留空表示现在"))


def managers_choices(estate_id: int) -> list[SelectChoice]:
    """Supervisors and directors of the estate, for "approved by" pick-lists (only people of
    the row's estate, #11 item 5: an admin not linked to it is not offered)."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate_id)
    people = User.select().where(User.active == True, User.role.in_(sorted(MANAGERS)),  # noqa: E712
                                 User.id.in_(linked))
    return choices([(0, L_("—— 请选择 ——"))] + [(u.id, f"{u.display_name}（{u.role_label}）")
                                           for u in people.order_by(User.display_name)])


def people_choices(estate_id: int, roles, empty: str = L_("—— 请选择 ——")) -> list[SelectChoice]:
    """Active staff of the estate in `roles`, for pick-lists of people."""
    return choices([(0, empty)] + [(u.id, f"{u.display_name}（{u.role_label}）")
                                   for u in staff_of(estate_id, roles)])


def department_staff_choices(estate_id: int, department_kind: str | None = None,
                             empty: str = L_("（不指定）")) -> list[SelectChoice]:
    """Department staff of the row's estate (of one department when given), for dispatch and
    reassignment (#11 item 5: never another estate's people; the model refuses them too)."""
    people = [u for u in staff_of(estate_id, {"dept"})
              if department_kind is None or u.department == department_kind]
    return choices([(0, empty)] + [(u.id, f"{u.display_name}（{u.department_label}）")
                                   for u in people])


def chosen_estate():
    """The estate a page is about (?estate=), among the user's own; the first by default."""
    estates = list(current_user.estates())
    wanted = request.args.get("estate", type=int)
    chosen = next((e for e in estates if e.id == wanted), estates[0] if estates else None)
    return chosen, estates


class QueryFilter(BasePeeweeFilter):
    """A register's named questions (overdue, pending…) as one drop-down grid filter."""

    def __init__(self, model, label: str, queries: dict[str, tuple[str, Callable]], *,
                 as_condition: bool = False):
        super().__init__(model.id, label, options=[(k, v[0]) for k, v in queries.items()])
        self.model, self.queries, self.as_condition = model, queries, as_condition

    def apply(self, query, value):
        if value not in self.queries:
            return query
        rows = self.queries[value][1](utcnow())
        if not self.as_condition or rows._joins or rows._where is None:
            return query.where(self.model.id.in_(rows.select(self.model.id)))
        # A question on the register's own columns, applied as its condition, not as
        # `id IN (every matching row)`: that collected the whole queue before the grid's order
        # and LIMIT (40,000 overdue demands at 1M, #14); as a condition the planner reads the
        # queue's index in the grid's order and stops after the page (as_condition: only where
        # such indexes exist; else a short queue would be looked for through the register).
        return query.where(rows._where)

    def operation(self):
        return gettext("为")


def money_cell(view, context, model, name):
    return yuan(getattr(model, name))


def date_cell(view, context, model, name):
    value = getattr(model, name)
    return value.strftime(DATE_FORMAT) if value else ""
