"""Printing log (R-PRINT-1): approval by the department's supervisor, the director or the
admin, never the requester, given by the approver (R-REC-2, #11 item 3); no printing before
approval; monthly pages per department (#5)."""

from __future__ import annotations

import pytest
from test_office_common import ago, at, field_errors, make_staff, post
from test_records import form_data

from models import approvals
from models.approvals import ApprovalRequest
from models.base import RuleError
from models.org import Department
from models.printing import PrintJob
from models.register import AuditLog, save_record


@pytest.fixture
def staff(conn, estate):
    users = make_staff(estate, ("clerk", "clerk", "cs"), ("supervisor", "supervisor", "cs"),
                       ("eng_boss", "dept", "engineering"), ("plain_sup", "supervisor", None),
                       ("director", "director", None), ("engineer", "dept", "engineering"))
    # The engineering department's supervisor (部门主管, models.users.supervises).
    users["eng_boss"].dept_supervisor = True
    users["eng_boss"].save()
    return users


def approve(row, approver, at=None, note="同意"):
    """The approver approves in their own login (models.approvals), at `at` if given."""
    requester = row.requested_by
    return approvals.apply_now(row, "approve", requester, approver, {"note": note, "at": at},
                               at=at)


def job(estate, user, kind="cs", **fields) -> PrintJob:
    department = Department.get(Department.estate == estate, Department.kind == kind)
    values = {"title": "停水通知", "copies": 5, "pages": 2, "requested_at": ago(hours=2),
              **fields}
    return save_record(PrintJob(estate=estate.id, department=department.id, **values), user)


def test_requester_never_approves_own_job(staff, estate):
    mine = job(estate, staff["supervisor"])  # a supervisor asking for a print of their own
    assert ApprovalRequest.pending_for(mine, "approve") is not None  # queued from the start
    with pytest.raises(RuleError) as refused:
        approve(mine, staff["supervisor"])
    assert refused.value.errors == {"approver_username": "审批人不能是申请人本人"}
    with pytest.raises(RuleError, match="须经客服部门主管或管理处主任批准"):
        mine.approve(staff["supervisor"])  # no grant, no approval
    assert PrintJob.get_by_id(mine.id).state == "requested"
    assert not ApprovalRequest.queue(staff["supervisor"]).exists()  # not in their own queue
    assert [r.row_id for r in ApprovalRequest.queue(staff["director"])] == [mine.id]
    # The rule sits on the row too: no edit can set the requester as approver.
    mine.approved_by = staff["supervisor"].id
    with pytest.raises(RuleError, match="审批人不能是申请人本人"):
        save_record(mine, staff["clerk"])


def test_only_the_departments_supervisor_or_above(staff, estate):
    cs_job = job(estate, staff["director"])
    engineering_job = job(estate, staff["engineer"], kind="engineering")
    for user in (staff["clerk"], staff["engineer"], staff["eng_boss"]):
        with pytest.raises(RuleError, match="无权审批此事项，须由客服部门主管或管理处主任审批"):
            approve(cs_job, user)
    with pytest.raises(RuleError, match="须由工程维修部门主管"):
        approve(engineering_job, staff["supervisor"])  # the 客服主管 is not engineering's
    approve(engineering_job, staff["eng_boss"])
    # A supervisor account without a department is the 客服 supervisor (the role is 客服主管).
    approve(cs_job, staff["plain_sup"])
    assert PrintJob.get_by_id(cs_job.id).state == "approved"
    other = job(estate, staff["engineer"], kind="engineering")
    approve(other, staff["director"])  # above every supervisor
    assert PrintJob.get_by_id(other.id).approved_by_id == staff["director"].id
    assert ApprovalRequest.get(ApprovalRequest.row_id == other.id).decided_by_id == \
        staff["director"].id


def test_unapproved_jobs_cannot_be_printed(staff, estate):
    pending = job(estate, staff["clerk"])
    with pytest.raises(RuleError) as refused:
        pending.mark_printed(staff["clerk"], signed_name="王", confirmed=True)
    assert refused.value.errors == {"printed_at": "未经主管审批的打印不能登记为已打印"}
    refused_job = job(estate, staff["clerk"])
    request = ApprovalRequest.pending_for(refused_job, "approve")
    with pytest.raises(RuleError, match="驳回时请填写原因"):
        approvals.reject(request, staff["supervisor"], note="")
    approvals.reject(request, staff["supervisor"], note="重复打印")
    refused_job = PrintJob.get_by_id(refused_job.id)
    assert (refused_job.state, refused_job.approval_note) == ("refused", "重复打印")
    assert refused_job.approved_by_id == staff["supervisor"].id
    with pytest.raises(RuleError, match="未批准，不能登记打印"):
        refused_job.mark_printed(staff["clerk"], signed_name="王", confirmed=True)
    # Nor through an edit that fills the printed time of an unapproved row.
    pending.printed_at = ago(minutes=1)
    with pytest.raises(RuleError, match="未经主管审批"):
        save_record(pending, staff["clerk"])


def test_printing_is_signed_for_and_content_frozen_after_approval(staff, estate):
    row = job(estate, staff["clerk"], copies=3, pages=4)
    assert row.total_pages == 12 and row.number.startswith("DY-")
    approve(row, staff["supervisor"], at=ago(hours=1))
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
    # The approval is audited too: asked at the creation, decided by the supervisor.
    assert [a.user_id for a in AuditLog.select().where(
        AuditLog.table == "approval_request").order_by(AuditLog.id)] == [
        staff["clerk"].id, staff["supervisor"].id]


def test_monthly_pages_count_office_months(staff, estate):
    """A job printed at 00:30 on 1 December (office time) is December's, though UTC says
    November; unprinted and voided jobs do not count."""
    late = job(estate, staff["clerk"], requested_at=at(2025, 11, 30, 23, 0), copies=2, pages=5)
    approve(late, staff["supervisor"], at=at(2025, 11, 30, 23, 10))
    late.mark_printed(staff["clerk"], signed_name="甲", confirmed=True,
                      printed_at=at(2025, 12, 1, 0, 30))
    november = job(estate, staff["engineer"], kind="engineering",
                   requested_at=at(2025, 11, 30, 9), copies=1, pages=7)
    approve(november, staff["director"], at=at(2025, 11, 30, 9, 5))
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
    # A clerk cannot approve: the 审批 form asks for the approver at the desk, and without one
    # the job stays waiting in the supervisor's queue (R-REC-2).
    form = clerk.get(f"/admin/print_job/approve/?id={row.id}").get_data(as_text=True)
    assert 'name="approver_secret"' in form
    waiting = post(clerk, f"/admin/print_job/approve/?id={row.id}",
                   {"note": "", "row_version": row.version})
    assert waiting.status_code == 302
    assert PrintJob.get_by_id(row.id).state == "requested"
    assert "/admin/print_job/refuse/" not in clerk.get(
        f"/admin/print_job/details/?id={row.id}").get_data(as_text=True)
    # Printing before approval is refused with the message at the top of the form.
    refused = post(clerk, f"/admin/print_job/printed/?id={row.id}",
                   {"signed_name": "王", "confirmed": "y", "row_version": row.version})
    assert "未经主管审批的打印不能登记为已打印" in refused.get_data(as_text=True)
    assert 'name="approver_secret"' not in supervisor.get(
        f"/admin/print_job/approve/?id={row.id}").get_data(as_text=True)
    assert post(supervisor, f"/admin/print_job/approve/?id={row.id}",
                {"note": "同意", "row_version": row.version}).status_code == 302
    decided = ApprovalRequest.get()
    assert (decided.state, decided.decided_by_id, decided.how) == (
        "approved", supervisor.user.id, "login")
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
