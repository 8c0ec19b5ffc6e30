"""Batch services (R-JOB-1/2): locks and intercoms on Saturdays and Sundays only, owners told
at least N days before (configurable), gas with the gas company's appointment, results per unit
(#5)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_office_common import ago, at, field_errors, make_staff, post, today
from test_records import form_data

from models.base import RuleError, utcnow
from models.batches import ServiceBatch, ServiceRegistration
from models.org import Resident, Unit
from models.register import save_record


def next_weekday(weekday: int, after_days: int = 7) -> dt.date:
    """The first given weekday (0 = Monday) at least `after_days` from today."""
    day = today() + dt.timedelta(days=after_days)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("desk", "clerk", "cs"))


def register(estate, user, code="1-1-101", kind="lock") -> ServiceRegistration:
    unit = Unit.get(Unit.code == code)
    owner = Resident.get(Resident.unit == unit)
    return save_record(ServiceRegistration(estate=estate.id, kind=kind, unit=unit.id,
                                           resident=owner.id, contact_phone=owner.phone,
                                           registered_at=ago(days=3)), user)


def batch(estate, user, kind="lock", day=None, **fields) -> ServiceBatch:
    return save_record(ServiceBatch(estate=estate.id, kind=kind,
                                    day=day or next_weekday(5), **fields), user)


def test_locks_and_intercoms_only_on_saturday_or_sunday(staff, estate):
    wednesday = next_weekday(2)
    with pytest.raises(RuleError) as refused:
        batch(estate, staff["desk"], day=wednesday)
    assert refused.value.errors == {"day": (
        f"更换锁芯及猫眼统一安排在周六、周日，{wednesday:%Y-%m-%d} 是星期三，请改选周六或周日")}
    for weekday in range(5):
        with pytest.raises(RuleError, match="统一安排在周六、周日"):
            batch(estate, staff["desk"], kind="intercom", day=next_weekday(weekday))
    assert ServiceBatch.select().count() == 0
    assert batch(estate, staff["desk"], day=next_weekday(5)).number.startswith("PL-")
    assert batch(estate, staff["desk"], kind="intercom", day=next_weekday(6)).state == "planned"
    # Moving a weekend batch to a weekday is refused too.
    row = ServiceBatch.get(ServiceBatch.kind == "intercom")
    row.day = next_weekday(4)
    with pytest.raises(RuleError, match="安装可视对讲统一安排在周六、周日"):
        save_record(row, staff["desk"])


def test_gas_work_needs_the_gas_companys_appointment_on_any_day(staff, estate):
    with pytest.raises(RuleError) as refused:
        batch(estate, staff["desk"], kind="gas", day=next_weekday(2))
    assert set(refused.value.errors) == {"gas_company", "gas_appointment"}
    row = batch(estate, staff["desk"], kind="gas", day=next_weekday(2),
                gas_company="市燃气集团", gas_appointment="RQ202612001")
    assert row.day.weekday() == 2


def test_notice_at_least_n_days_before(app, staff, estate):
    """Told today: work three days from now is in time (default 3 days), two days is not."""
    gas = {"kind": "gas", "gas_company": "市燃气集团", "gas_appointment": "RQ1"}
    soon = batch(estate, staff["desk"], day=today() + dt.timedelta(days=2), **gas)
    with pytest.raises(RuleError) as refused:
        soon.record_notice(staff["desk"], method="sms")
    deadline = today() - dt.timedelta(days=1)
    assert refused.value.errors == {"notice_at": (
        f"须至少提前 3 天通知业户：施工日期 {soon.day:%Y-%m-%d}，最晚 {deadline:%Y-%m-%d} 通知")}
    assert ServiceBatch.get_by_id(soon.id).notice_at is None
    row = batch(estate, staff["desk"], day=today() + dt.timedelta(days=3), **gas)
    with pytest.raises(RuleError, match="通知时间不能晚于现在"):
        row.record_notice(staff["desk"], method="sms", at=utcnow() + dt.timedelta(hours=1))
    # A refused change leaves the row as stored; each request works on a fresh copy.
    row = ServiceBatch.get_by_id(row.id)
    with pytest.raises(RuleError, match="请选择通知方式"):
        row.record_notice(staff["desk"], method="", at=ago(hours=1))
    row = ServiceBatch.get_by_id(row.id)
    assert row.notice_at is None
    row.record_notice(staff["desk"], method="phone", content="三天后上门改管")
    assert ServiceBatch.get_by_id(row.id).state == "notified"
    # The number of days is the office's setting (BATCH_NOTICE_DAYS).
    app.config["BATCH_NOTICE_DAYS"] = 4
    with app.app_context():
        row = ServiceBatch.get_by_id(row.id)
        row.team = "燃气公司施工队"
        with pytest.raises(RuleError, match="须至少提前 4 天通知业户"):
            save_record(row, staff["desk"])


def test_registrations_grouped_and_completed_per_unit(staff, estate):
    first, second = register(estate, staff["desk"]), register(estate, staff["desk"], "1-1-102")
    gas = register(estate, staff["desk"], "1-1-201", kind="gas")
    with pytest.raises(RuleError, match="该房屋已登记更换锁芯及猫眼，尚未完成"):
        register(estate, staff["desk"])
    past_saturday = next_weekday(5, after_days=-13)
    row = batch(estate, staff["desk"], day=past_saturday)
    with pytest.raises(RuleError, match="1-1-201 登记的是燃气改管，与批次项目不符"):
        row.add(staff["desk"], [first.id, gas.id])
    assert ServiceRegistration.get_by_id(first.id).batch_id is None  # nothing half-done
    assert row.add(staff["desk"], [first.id, second.id]) == 2
    first = ServiceRegistration.get_by_id(first.id)
    with pytest.raises(RuleError, match="尚未登记提前通知业户"):
        first.complete(staff["desk"], done=True)
    row = ServiceBatch.get_by_id(row.id)
    row.record_notice(staff["desk"], method="sms",
                      at=at(past_saturday.year, past_saturday.month, past_saturday.day)
                      - dt.timedelta(days=4))
    first = ServiceRegistration.get_by_id(first.id)
    done_at = at(past_saturday.year, past_saturday.month, past_saturday.day, 11)
    with pytest.raises(RuleError, match="完成时间不能早于施工日期"):
        first.complete(staff["desk"], done=True, at=done_at - dt.timedelta(days=1))
    first.complete(staff["desk"], done=True, result="已更换", at=done_at)
    second = ServiceRegistration.get_by_id(second.id)
    with pytest.raises(RuleError, match="未完成时请填写原因"):
        second.complete(staff["desk"], done=False)
    second.complete(staff["desk"], done=False, result="业主不在家", at=done_at)
    second = ServiceRegistration.get_by_id(second.id)
    assert second.state == "registered" and second.batch_id is None  # back in the queue
    assert "业主不在家" in second.result
    assert ServiceBatch.get_by_id(row.id).state == "done"  # every unit left has its result
    assert ServiceRegistration.get_by_id(first.id).state == "done"


def test_batch_through_the_admin(login_as, staff, estate):
    clerk = login_as("clerk")
    reg = register(estate, staff["desk"])
    data = form_data(clerk, "/admin/service_batch/new/")
    data.update({"kind": "lock", "day": f"{next_weekday(2):%Y-%m-%d}", "team": "安居锁业"})
    refused = clerk.post("/admin/service_batch/new/", data=data)
    assert any("是星期三，请改选周六或周日" in e for e in field_errors(refused))
    assert ServiceBatch.select().count() == 0
    data["day"] = f"{next_weekday(6):%Y-%m-%d}"
    assert clerk.post("/admin/service_batch/new/", data=data).status_code == 302
    row = ServiceBatch.get()
    assert post(clerk, f"/admin/service_batch/add/?id={row.id}",
                {"registrations": [str(reg.id)]}).status_code == 302
    assert ServiceRegistration.get_by_id(reg.id).batch_id == row.id
    response = post(clerk, f"/admin/service_batch/notice/?id={row.id}",
                    {"notice_method": "", "row_version": ServiceBatch.get_by_id(row.id).version})
    assert "请选择通知方式" in field_errors(response)
    page = clerk.get(f"/admin/service_batch/details/?id={row.id}").get_data(as_text=True)
    assert "1-1-101" in page and "尚未登记提前通知" in page
