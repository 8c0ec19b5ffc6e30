"""Printing log (R-PRINT-1): approval by the department's supervisor or above, never the
requester; no printing before approval; monthly pages per department (#5)."""

from __future__ import annotations

import pytest
from test_office_common import ago, at, field_errors, make_staff, post
from test_records import form_data

from models.base import RuleError
from models.org import Department
from models.printing import PrintJob
from models.register import AuditLog, save_record


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("clerk", "clerk", "cs"), ("supervisor", "supervisor", "cs"),
                      ("eng_boss", "supervisor", "engineering"), ("plain_sup", "supervisor", None),
                      ("director", "director", None), ("engineer", "dept", "engineering"))


def job(estate, user, kind="cs", **fields) -> PrintJob:
    department = Department.get(Department.estate == estate, Department.kind == kind)
    values = {"title": "停水通知", "copies": 5, "pages": 2, "requested_at": ago(hours=2),
              **fields}
    return save_record(PrintJob(estate=estate.id, department=department.id, **values), user)


def test_requester_never_approves_own_job(staff, estate):
    mine = job(estate, staff["supervisor"])  # a supervisor asking for a print of their own
    with pytest.raises(RuleError) as refused:
        mine.approve(staff["supervisor"])
    assert refused.value.errors == {
        "approved_by": "审批人不能是申请人本人，须由本部门主管或主任审批"}
    assert PrintJob.get_by_id(mine.id).state == "requested"
    # The rule sits on the row too: no edit can set the requester as approver.
    mine.approved_by = staff["supervisor"].id
    with pytest.raises(RuleError, match="审批人不能是申请人本人"):
        save_record(mine, staff["clerk"])


def test_only_the_departments_supervisor_or_above(staff, estate):
    cs_job = job(estate, staff["director"])
    engineering_job = job(estate, staff["engineer"], kind="engineering")
    for user in (staff["clerk"], staff["engineer"], staff["eng_boss"]):
        with pytest.raises(RuleError, match="只有客服部的主管或管理处主任可以审批"):
            cs_job.approve(user)
    with pytest.raises(RuleError, match="只有工程维修部的主管"):
        engineering_job.approve(staff["supervisor"])  # the 客服主管 is not engineering's
    engineering_job.approve(staff["eng_boss"])
    # A supervisor account without a department is the 客服 supervisor (the role is 客服主管).
    cs_job.approve(staff["plain_sup"], note="同意")
    assert PrintJob.get_by_id(cs_job.id).state == "approved"
    other = job(estate, staff["engineer"], kind="engineering")
    other.approve(staff["director"])  # above every supervisor
    assert PrintJob.get_by_id(other.id).approved_by_id == staff["director"].id


def test_unapproved_jobs_cannot_be_printed(staff, estate):
    pending = job(estate, staff["clerk"])
    with pytest.raises(RuleError) as refused:
        pending.mark_printed(staff["clerk"], signed_name="王", confirmed=True)
    assert refused.value.errors == {"printed_at": "未经主管审批的打印不能登记为已打印"}
    refused_job = job(estate, staff["clerk"])
    with pytest.raises(RuleError, match="不批准时请填写原因"):
        refused_job.approve(staff["supervisor"], approved=False)
    refused_job.approve(staff["supervisor"], approved=False, note="重复打印")
    with pytest.raises(RuleError, match="未批准，不能登记打印"):
        refused_job.mark_printed(staff["clerk"], signed_name="王", confirmed=True)
    # Nor through an edit that fills the printed time of an unapproved row.
    pending.printed_at = ago(minutes=1)
    with pytest.raises(RuleError, match="未经主管审批"):
        save_record(pending, staff["clerk"])


def test_printing_is_signed_for_and_content_frozen_after_approval(staff, estate):
    row = job(estate, staff["clerk"], copies=3, pages=4)
    assert row.total_pages == 12 and row.number.startswith("DY-")
    row.approve(staff["supervisor"], at=ago(hours=1))
    with pytest.raises(RuleError) as refused:
        row.mark_printed(staff["clerk"], signed_name=" ", confirmed=False)
    assert set(refused.value.errors) == {"signed_name", "confirmed"}
    with pytest.raises(RuleError, match="打印时间不能早于审批时间"):
        row.mark_printed(staff["clerk"], signed_name="张三", confirmed=True,
                         printed_at=ago(hours=1, minutes=5))
    row.mark_printed(staff["clerk"], signed_name="张三", confirmed=True)
    row = PrintJob.get_by_id(row.id)
    assert row.state == "printed" and row.signed_confirmed and row.printed_by_id
    row.copies = 30
    with pytest.raises(RuleError, match="已审批的打印申请不能再修改内容"):
        save_record(row, staff["clerk"])
    assert AuditLog.select().where(AuditLog.table == "print_job",
                                   AuditLog.row_id == row.id).count() == 3


def test_monthly_pages_count_office_months(staff, estate):
    """A job printed at 00:30 on 1 December (office time) is December's, though UTC says
    November; unprinted and voided jobs do not count."""
    late = job(estate, staff["clerk"], requested_at=at(2025, 11, 30, 23, 0), copies=2, pages=5)
    late.approve(staff["supervisor"], at=at(2025, 11, 30, 23, 10))
    late.mark_printed(staff["clerk"], signed_name="甲", confirmed=True,
                      printed_at=at(2025, 12, 1, 0, 30))
    november = job(estate, staff["engineer"], kind="engineering",
                   requested_at=at(2025, 11, 30, 9), copies=1, pages=7)
    november.approve(staff["director"], at=at(2025, 11, 30, 9, 5))
    november.mark_printed(staff["clerk"], signed_name="乙", confirmed=True,
                          printed_at=at(2025, 11, 30, 23, 59))
    job(estate, staff["clerk"], requested_at=at(2025, 11, 29))  # never approved
    report = PrintJob.monthly_pages([estate.id], 2025)
    months = {m: (pages, total) for m, pages, total in report["months"]}
    assert months[11] == ({"工程维修部": 7}, 7)
    assert months[12] == ({"客服部": 10}, 10)
    assert report["totals"] == {"客服部": 10, "工程维修部": 7} and report["total"] == 17
    log = PrintJob.month_log(estate.id, 2025, 12)
    assert [(name, [j.id for j in jobs], pages) for name, jobs, pages in log] == \
        [("客服部", [late.id], 10)]


def test_printing_through_the_admin(login_as, conn, estate):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    department = Department.get(Department.kind == "cs")
    data = form_data(clerk, "/admin/print_job/new/")
    data.update({"department": str(department.id), "title": "业主大会通知", "copies": "40",
                 "pages": "2"})
    assert clerk.post("/admin/print_job/new/", data=data).status_code == 302
    row = PrintJob.get()
    assert row.requested_by_id == clerk.user.id and row.total_pages == 80
    # The requester is not offered approval; a clerk may not approve at all.
    page = clerk.get(f"/admin/print_job/details/?id={row.id}").get_data(as_text=True)
    assert "/admin/print_job/approve/" not in page
    assert post(clerk, f"/admin/print_job/approve/?id={row.id}",
                {"decision": "1", "row_version": row.version}).status_code == 403
    # Printing before approval is refused with the message at the top of the form.
    refused = post(clerk, f"/admin/print_job/printed/?id={row.id}",
                   {"signed_name": "王", "confirmed": "y", "row_version": row.version})
    assert "未经主管审批的打印不能登记为已打印" in refused.get_data(as_text=True)
    assert post(supervisor, f"/admin/print_job/approve/?id={row.id}",
                {"decision": "1", "note": "同意", "row_version": row.version}
                ).status_code == 302
    row = PrintJob.get_by_id(row.id)
    response = post(clerk, f"/admin/print_job/printed/?id={row.id}",
                    {"signed_name": "", "row_version": row.version})
    assert "请填写签收人姓名" in field_errors(response)
    assert post(clerk, f"/admin/print_job/printed/?id={row.id}",
                {"signed_name": "王秀英", "confirmed": "y", "row_version": row.version}
                ).status_code == 302
    assert PrintJob.get_by_id(row.id).state == "printed"
    month = f"{PrintJob.get_by_id(row.id).printed_at.astimezone(at(2025, 1, 1).tzinfo):%Y-%m}"
    monthly = clerk.get("/admin/print_job/monthly/").get_data(as_text=True)
    assert "客服部" in monthly and "<strong>80</strong>" in monthly
    sheet = clerk.get(f"/admin/print_job/monthly/print/?month={month}").get_data(as_text=True)
    assert "测试花园 文件打印登记" in sheet and "业主大会通知" in sheet
    assert "客服部（80 页）" in sheet
