"""Emergency register (R-EMG-1…5): steps with who/when, outside help only with the director's
consent, no closing without cause, responsible person and measures, the register sheet (#5)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_office_common import ago, field_errors, make_staff, post
from test_records import form_data

from models import approvals
from models.approvals import ApprovalRequest
from models.base import RuleError
from models.emergencies import Emergency, EmergencyStep
from models.register import save_record


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


def incident(estate, user, **fields) -> Emergency:
    values = {"occurred_at": ago(hours=3), "place": "3栋电梯", "kind": "lift",
              "description": "电梯困人", "reported_by": "业主", "first_reported_to": "值班客服",
              "reported_at": ago(hours=3) + dt.timedelta(minutes=2), **fields}
    return save_record(Emergency(estate=estate.id, **values), user)


AFTERMATH = {"stabilised_at": None, "cause": "门锁继电器故障", "responsible_person": "维保单位",
             "remedial_measures": "更换继电器", "preventive_measures": "每周检查门锁回路"}


def test_equipment_and_building_causes_record_the_technician(staff, estate):
    with pytest.raises(RuleError) as refused:
        incident(estate, staff["clerk"], kind="equipment")
    assert refused.value.errors == {
        "technician": "设备故障或房屋质量问题须登记通知的当值维修技术人员",
        "technician_notified_at": "请填写通知当值维修技术人员的时间"}
    with pytest.raises(RuleError, match="通知维修技术人员时间不能早于发生时间"):
        incident(estate, staff["clerk"], kind="building", technician="周海涛",
                 technician_notified_at=ago(hours=4))
    row = incident(estate, staff["clerk"], kind="building", technician="周海涛",
                   technician_notified_at=ago(hours=2, minutes=55))
    assert row.number.startswith("JJ-") and row.state == "open"
    assert Emergency.select().count() == 1  # the refused ones left nothing behind


def test_outside_help_only_with_the_directors_consent(staff, estate, make_user, other_estate):
    """R-EMG-2, R-REC-2 (#11 item 3): the director alone consents, as the director (own login
    or at the desk) — not a supervisor, not the admin, not another estate's director; the call
    is recorded at or after the consent."""
    row = incident(estate, staff["clerk"])
    values = {"kind": "outside_help", "who": "119", "at": ago(hours=2)}
    with pytest.raises(RuleError) as refused:
        row.add_step(staff["clerk"], **values)
    assert refused.value.errors == {"approver": "社会求援（主任同意）须经管理处主任批准"}
    admin = make_user("root", "admin")
    elsewhere = make_user("far_director", "director", other_estate)
    for not_the_director in (staff["supervisor"], admin, elsewhere, staff["clerk"]):
        with pytest.raises(RuleError, match="无权审批此事项，须由管理处主任审批"):
            approvals.apply_now(row, "add_step", staff["clerk"], not_the_director, values)
    assert EmergencyStep.select().count() == 0 and not ApprovalRequest.select().exists()
    step = approvals.apply_now(row, "add_step", staff["clerk"], staff["director"], values)
    consent = ApprovalRequest.get()
    assert step.consent_by_id == staff["director"].id and step.created_by_id == staff["clerk"].id
    assert step.consent_at == consent.decided_at and step.at >= step.consent_at
    # Other steps need nobody's consent.
    row.add_step(staff["clerk"], kind="director", who="林主任", at=ago(hours=1))
    with pytest.raises(RuleError, match="时间不能早于事件发生时间"):
        row.add_step(staff["clerk"], kind="director", who="林主任", at=ago(hours=4))


def test_not_closable_until_cause_responsible_person_and_measures(staff, estate):
    row = incident(estate, staff["clerk"])
    with pytest.raises(RuleError) as refused:
        row.close(staff["director"])
    assert refused.value.errors == {
        "stabilised_at": "结案前请登记事态稳定时间", "cause": "结案前请查明并填写事发原因",
        "responsible_person": "结案前请填写事故负责人", "remedial_measures": "结案前请填写补救措施",
        "preventive_measures": "结案前请填写预防措施"}
    for name, value in {**AFTERMATH, "stabilised_at": ago(hours=2)}.items():
        setattr(row, name, value)
    row.preventive_measures = "  "  # blank is not filled
    save_record(row, staff["director"])
    with pytest.raises(RuleError) as refused:
        row.close(staff["director"])
    assert refused.value.errors == {"preventive_measures": "结案前请填写预防措施"}
    row.preventive_measures = AFTERMATH["preventive_measures"]
    save_record(row, staff["director"])
    with pytest.raises(RuleError, match="紧急事件须由管理处主任结案"):
        row.close(staff["supervisor"])
    assert Emergency.get_by_id(row.id).state == "stabilised"
    row.close(staff["director"])
    row = Emergency.get_by_id(row.id)
    assert row.state == "closed" and row.closed_by_id == staff["director"].id
    # Closed: the register is frozen, only implementation results are added (R-EMG-4).
    row.cause = "改写"
    with pytest.raises(RuleError, match="已结案的紧急事件不能修改"):
        save_record(row, staff["director"])
    with pytest.raises(RuleError, match="已结案的事件只能登记措施落实结果"):
        row.add_step(staff["clerk"], kind="director", who="林主任")
    row.add_step(staff["engineer"], kind="result", who="工程维修部", note="已更换")
    assert [s.kind for s in Emergency.get_by_id(row.id).history()] == ["result"]


def test_emergency_through_the_admin_and_its_register_sheet(login_as, conn, estate):
    clerk = login_as("clerk")
    director = login_as("director")
    data = form_data(clerk, "/admin/emergency/new/")
    occurred = (ago(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    data.update({"occurred_at": f"{occurred:%Y-%m-%d %H:%M}", "place": "5栋地下车库",
                 "kind": "equipment", "description": "消防管道爆裂", "reported_by": "保安赵",
                 "first_reported_to": "值班客服", "reported_at": f"{occurred:%Y-%m-%d %H:%M}"})
    refused = clerk.post("/admin/emergency/new/", data=data)
    assert "设备故障或房屋质量问题须登记通知的当值维修技术人员" in field_errors(refused)
    assert Emergency.select().count() == 0
    data.update({"technician": "周海涛", "technician_notified_at": f"{occurred:%Y-%m-%d %H:%M}"})
    assert clerk.post("/admin/emergency/new/", data=data).status_code == 302
    row = Emergency.get()
    # Outside help asked by the clerk (a director picked from a list is ignored): nothing is
    # recorded until the director consents in the director's own login (R-EMG-2, R-REC-2).
    response = post(clerk, f"/admin/emergency/step/?id={row.id}",
                    {"kind": "outside_help", "who": "119 消防", "note": "请求排水支援",
                     "consent_by": str(director.user.id), "at": ""})
    assert response.status_code == 302, field_errors(response)
    assert EmergencyStep.select().count() == 0
    pending = ApprovalRequest.get()
    assert (pending.state, pending.rule) == ("pending", "director")
    assert 'data-count="1"' in director.get("/admin/").get_data(as_text=True)
    response = post(director, f"/admin/approval_queue/decide/?id={pending.id}",
                    {"decision": "approve", "note": "同意，立即联系"})
    assert response.status_code == 302
    step = EmergencyStep.get()
    assert (step.kind, step.consent_by_id, step.who) == ("outside_help", director.user.id,
                                                         "119 消防")
    # A clerk may not close; the director is refused until the aftermath is filled.
    assert post(clerk, f"/admin/emergency/close/?id={row.id}", {}).status_code == 403
    refused = post(director, f"/admin/emergency/close/?id={row.id}",
                   {"row_version": row.version})
    assert "结案前请查明并填写事发原因" in refused.get_data(as_text=True)
    assert Emergency.get_by_id(row.id).state == "open"
    page = clerk.get(f"/admin/emergency/details/?id={row.id}").get_data(as_text=True)
    assert "119 消防" in page and "结案前还需" in page and "打印登记表" in page
    sheet = clerk.get(f"/admin/emergency/print/?id={row.id}").get_data(as_text=True)
    assert "测试花园 紧急事件处理登记表" in sheet and row.number in sheet
    assert "社会求援" in sheet and "周海涛" in sheet and "管理处盖章" in sheet


def test_step_buttons_open_the_step_form_on_their_kind(login_as, conn, estate):
    """社会求援 and 登记措施落实结果 are links to the one step form on their kind (R-EMG-2/4),
    not one-click posts (#10: declared as RowAction target + args)."""
    clerk = login_as("clerk")
    row = incident(estate, clerk.user)
    page = clerk.get(f"/admin/emergency/details/?id={row.id}").get_data(as_text=True)
    assert f'href="/admin/emergency/step/?id={row.id}&amp;kind=outside_help"' in page
    assert "kind=result" not in page
    form = clerk.get(f"/admin/emergency/step/?id={row.id}&kind=outside_help")
    text = form.get_data(as_text=True)
    assert "<h3>社会求援</h3>" in text and '<option selected value="outside_help"' in text
    Emergency.update(state="closed").where(Emergency.id == row.id).execute()
    page = clerk.get(f"/admin/emergency/details/?id={row.id}").get_data(as_text=True)
    assert f'href="/admin/emergency/step/?id={row.id}&amp;kind=result"' in page
    assert "kind=outside_help" not in page and "登记措施落实结果" in page
