"""Document printing log (文件打印, R-PRINT-1).

A department's print job is recorded (department, document, copies × pages, requester), approved
by that department's supervisor or someone above — never by the requester — and only then
printed and signed for. Monthly pages per department come from the printed jobs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField

from models.approvals import (
    Approval,
    Grant,
    department_rule,
    not_before_grant,
    request,
    require_grant,
    satisfies,
)
from models.base import (
    AwareDateTimeField,
    RuleError,
    check_moment,
    to_office,
    utcnow,
)
from models.calendar import next_number
from models.i18n import L_
from models.office import month_range, refuse_changes_after
from models.org import Department, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.steps import gather
from models.users import User

STATES = [
    ("requested", L_("待审批")),
    ("approved", L_("已批准")),
    ("refused", L_("未批准")),
    ("printed", L_("已打印")),
]
STATE_LABELS = dict(STATES)
MAX_COPIES, MAX_PAGES = 1000, 2000


def _describe_job(row, values: dict) -> str:
    return f"{row.department.name} {row.copies} 份 × {row.pages} 页"


class PrintJob(StatefulMixin, RegisterModel):
    """One print job: what, how much, who asked, who approved, who printed and signed."""

    # R-PRINT-1: the matching department's supervisor, the director or the admin; never the
    # requester. A rejected request records the refusal on the job (`refuse`).
    approvals = {"approve": Approval(
        "approve", "打印审批", rule=lambda row: department_rule(row.department.kind),
        reject="refuse", requester_may_approve=False, moment="at", describe=_describe_job)}

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    department = ForeignKeyField(Department, backref="print_jobs", on_delete="RESTRICT",
                                 verbose_name=L_("部门"))
    title = CharField(max_length=100, verbose_name=L_("文件名称"))
    copies = IntegerField(default=1, verbose_name=L_("份数"))
    pages = IntegerField(default=1, verbose_name=L_("每份页数"))
    total_pages = IntegerField(default=0, verbose_name=L_("总页数"),
                               help_text=L_("份数 × 每份页数"))
    requested_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("申请人"))
    requested_at = AwareDateTimeField(default=utcnow, verbose_name=L_("申请时间"))
    state = CharField(max_length=16, choices=STATES, default="requested", index=True,
                      verbose_name=L_("状态"))
    approved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("审批人"))
    approved_at = AwareDateTimeField(null=True, verbose_name=L_("审批时间"))
    approval_note = CharField(max_length=200, default="", verbose_name=L_("审批意见"))
    printed_at = AwareDateTimeField(null=True, verbose_name=L_("打印时间"))
    printed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("打印人"))
    signed_name = CharField(max_length=32, default="", verbose_name=L_("签收人"),
                            help_text=L_("领取文件的人在打印登记簿上签名"))
    signed_confirmed = BooleanField(default=False, verbose_name=L_("已签名确认"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "print_job"
        # The monthly pages per department read printed jobs by estate and month.
        indexes = ((("estate", "state", "printed_at"), False),)

    def __str__(self) -> str:
        number = self.number or gettext("新打印")
        return f"{number} {self.title}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    def validate(self):
        yield from _same_estate(self, "estate", ("department",))
        if self.copies is not None and not 1 <= int(self.copies) <= MAX_COPIES:
            yield "copies", gettext("份数应在 1 到 %(MAX_COPIES)s 之间", MAX_COPIES=MAX_COPIES)
        if self.pages is not None and not 1 <= int(self.pages) <= MAX_PAGES:
            yield "pages", gettext("每份页数应在 1 到 %(MAX_PAGES)s 之间", MAX_PAGES=MAX_PAGES)
        # Stated on the row, not only in approve(): no form or import can bypass them.
        if self.approved_by_id and self.approved_by_id == self.requested_by_id:
            yield "approved_by", gettext("审批人不能是申请人本人，须由本部门主管或主任审批")
        if self.printed_at and (not self.approved_by_id or self.state == "refused"):
            yield "printed_at", gettext("未经主管审批的打印不能登记为已打印")

    def before_create(self, user) -> None:
        if user is not None and not self.requested_by_id:
            self.requested_by = user.id
        self.total_pages = int(self.copies) * int(self.pages)
        self.number = next_number(self.estate_id, "DY",
                                  to_office(self.requested_at or utcnow()).year)

    def before_update(self) -> None:
        refuse_changes_after(self, ("department", "title", "copies", "pages"),
                             lambda stored: stored.state != "requested",
                             gettext("已审批的打印申请不能再修改内容，请重新申请"))
        self.total_pages = int(self.copies or 0) * int(self.pages or 0)

    # -- steps ----------------------------------------------------------------------------

    def after_create(self, user) -> None:
        # The job waits in its approver's queue from the moment it is asked for (R-REC-2).
        request(self, "approve", user)

    def approve(self, user, *, grant: Grant | None = None, note: str = "",
                at: dt.datetime | None = None, expected_version: int | None = None) -> None:
        """审批 by the department's supervisor, the director or the admin — never the requester —
        in their own login or at the desk (R-PRINT-1, R-REC-2)."""
        self.require_state(("requested",), gettext("该打印申请已{state}，不能再审批"),
                           doing=gettext("审批"))
        approver = require_grant(self, "approve", grant)
        at = check_moment(not_before_grant(at, grant), field_name="at", label=gettext("审批时间"),
                          not_before=self.requested_at, before_label=gettext("申请时间"))
        self.transition(user, "approved", expected_version=expected_version,
                        approved_by=approver.id, approved_at=at, approval_note=(note or "").strip())

    def refuse(self, approver, *, note: str, expected_version: int | None = None) -> None:
        """不批准: the approver's refusal with its reason (called when the request is rejected)."""
        self.require_state(("requested",), gettext("该打印申请已{state}，不能再审批"),
                           doing=gettext("审批"))
        if not (note or "").strip():
            raise RuleError({"note": gettext("不批准时请填写原因")})
        if not satisfies(approver, department_rule(self.department.kind), self.estate_id) \
                or approver.id == self.requested_by_id:
            raise RuleError({"approver": gettext("只有%(name)s的主管或管理处主任可以审批，且不能是"
                                                 "申请人本人",
                                                 name=self.department.name)})
        self.transition(approver, "refused", expected_version=expected_version,
                        approved_by=approver.id, approved_at=utcnow(), approval_note=note.strip())

    def mark_printed(self, user, *, signed_name: str, confirmed: bool,
                     printed_at: dt.datetime | None = None,
                     expected_version: int | None = None) -> None:
        """打印并签收: only an approved job; the receiver signs the log (R-PRINT-1)."""
        self.require_state(doing=gettext("登记打印"))
        if self.state != "approved":
            raise RuleError({"printed_at": gettext("未经主管审批的打印不能登记为已打印")
                             if self.state == "requested"
                             else gettext("该打印申请%(state)s，不能登记打印",
                                          state=self.state_label)})
        errors = {}
        if not (signed_name or "").strip():
            errors["signed_name"] = gettext("请填写签收人姓名")
        if not confirmed:
            errors["confirmed"] = gettext("签收人须在打印登记簿上签名确认")
        printed_at = gather(errors, check_moment, printed_at, field_name="printed_at",
                            label=gettext("打印时间"), not_before=self.approved_at,
                            before_label=gettext("审批时间"))
        if errors:
            raise RuleError(errors)
        self.transition(user, "printed", expected_version=expected_version,
                        printed_at=printed_at, printed_by=user.id if user else None,
                        signed_name=signed_name.strip(), signed_confirmed=True)

    # -- reports --------------------------------------------------------------------------

    @classmethod
    def printed_in(cls, estate_ids, year: int, month: int | None = None):
        start, end = month_range(year, month or 1)
        if month is None:
            end = month_range(year, 12)[1]
        return cls.select().where(cls.estate.in_(estate_ids), cls.voided == False,  # noqa: E712
                                  cls.state == "printed", cls.printed_at >= start,
                                  cls.printed_at < end)

    @classmethod
    def monthly_pages(cls, estate_ids, year: int) -> dict:
        """Pages printed per month and department in a year (office months, not UTC ones).

        Returns {"departments": [names], "months": [(month, {name: pages}, total)], "totals":
        {name: pages}, "total": pages}.
        """
        rows = (cls.printed_in(estate_ids, year)
                .select(cls.printed_at, cls.total_pages, Department.name)
                .join(Department).tuples())
        by_month: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        totals: dict[str, int] = defaultdict(int)
        for printed_at, pages, department in rows:
            month = to_office(printed_at).month
            by_month[month][department] += pages
            totals[department] += pages
        names = sorted(totals)
        months = [(m, dict(by_month[m]), sum(by_month[m].values())) for m in range(1, 13)]
        return {"departments": names, "months": months, "totals": dict(totals),
                "total": sum(totals.values())}

    @classmethod
    def month_log(cls, estate_id: int, year: int, month: int) -> list[tuple[str, list, int]]:
        """The month's printed jobs of an estate by department: [(name, jobs, pages)]."""
        groups: dict[str, list] = defaultdict(list)
        jobs = (cls.printed_in([estate_id], year, month).join(Department)
                .order_by(Department.name, cls.printed_at))
        for job in jobs:
            groups[job.department.name].append(job)
        return [(name, rows, sum(j.total_pages for j in rows)) for name, rows in groups.items()]
