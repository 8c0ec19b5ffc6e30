"""Deadlines as promises, cause and reasons, flags as history (#11 items 1, 2, 8; R-REC-1,
R-REC-5, R-DEM-6/7/9/10), through the admin's real forms where a person would act."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import PG_URL, insert_old_estate
from peewee_migrate import Router
from test_demand_loop import intake, post_action
from test_records import form_data

import models
from app import create_app
from jobs.models import OverdueFlag
from jobs.overdue import mark_overdue
from models.base import RuleError, db, to_office, utcnow
from models.callbacks import Callback
from models.demands import Demand, DemandStep
from models.org import Department
from models.register import change_record, void_record
from models.review import monthly_review
from models.work_orders import WorkOrder


def backdate(demand: Demand, days: float) -> Demand:
    """The demand as if received `days` ago with its (urgent: 2-hour) promise made then."""
    received = utcnow() - dt.timedelta(days=days)
    due = received + dt.timedelta(hours=2)
    Demand.update(received_at=received, reply_due=due, original_reply_due=due).where(
        Demand.id == demand.id).execute()
    return Demand.get_by_id(demand.id)


def active(demand: Demand) -> set[str]:
    return {f.rule for f in OverdueFlag.select().where(
        OverdueFlag.row_id == demand.id, OverdueFlag.table == "demand",
        OverdueFlag.cleared_at.is_null())}


def errors(response) -> list[str]:
    """The messages a refused form shows (for an assertion's explanation)."""
    return re.findall(r'(?:invalid-feedback[^>]*|alert-danger")>([^<]+)<',
                      response.get_data(as_text=True))


def late_urgent_demand(clerk, days: float = 5) -> Demand:
    demand = backdate(intake(clerk, urgent="y"), days)
    mark_overdue(utcnow())
    assert active(demand) == {"demand_reply"}
    return demand


def test_a_clerk_editing_the_basis_cannot_move_a_late_deadline(app, login_as, conn):
    """The attack of #11: 业户要求答复时间 typed into the future and 紧急 un-ticked on a demand
    five days late. The deadline, the flag and (at the reply) the miss all stay."""
    clerk = login_as("clerk")
    demand = late_urgent_demand(clerk)
    promised = demand.reply_due
    url = f"/admin/demand/edit/?id={demand.id}"
    data = form_data(clerk, url)
    assert "requested_reply_at" not in data and "urgent" not in data  # not offered any more
    later = to_office(utcnow() + dt.timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    data.update(requested_reply_at=later, description="厨房漏水（已电话安抚）")
    data.pop("urgent", None)  # an un-ticked box is simply absent from the post
    assert clerk.post(url, data=data).status_code == 302
    demand = Demand.get_by_id(demand.id)
    assert demand.description == "厨房漏水（已电话安抚）"  # the edit itself went through
    assert demand.urgent is True and demand.requested_reply_at is None
    assert demand.reply_due == promised and demand.original_reply_due == promised
    mark_overdue(utcnow())
    assert active(demand) == {"demand_reply"}

    # No other writer may change the basis either (a script, an import, a future form).
    with pytest.raises(RuleError) as error:
        change_record(Demand.get_by_id(demand.id), clerk.user, urgent=False)
    assert "主管" in error.value.errors["urgent"]
    assert Demand.get_by_id(demand.id).urgent is True

    response = post_action(clerk, f"/admin/demand/reply/?id={demand.id}",
                           {"content": "已安排师傅上门", "cause": "楼上卫生间防水层老化",
                            "replied_at": "", "row_version": demand.version})
    assert response.status_code == 302, errors(response)
    demand = Demand.get_by_id(demand.id)
    assert demand.missed_replies == 1 and demand.late_minutes >= 5 * 24 * 60 - 125
    assert demand.cause == "楼上卫生间防水层老化"


def test_judging_a_late_demand_invalid_keeps_its_miss_and_the_on_time_rate(app, login_as,
                                                                           conn):
    """#11: 21 days late, judged invalid and the owner told: closed with its miss, and the
    month's on-time rate does not go up."""
    clerk = login_as("clerk")
    on_time = intake(clerk, urgent="y", description="楼道灯不亮")
    post_action(clerk, f"/admin/demand/reply/?id={on_time.id}",
                {"content": "已修复", "cause": "灯泡损坏", "replied_at": "",
                 "row_version": on_time.version})
    late = late_urgent_demand(clerk, days=21)
    window = (utcnow() - dt.timedelta(days=30), utcnow() + dt.timedelta(days=1))
    estate_ids = [late.estate_id]
    before = monthly_review(estate_ids, *window)
    assert (before["replied"], before["on_time"], before["on_time_rate"]) == (1, 1, 100.0)

    response = post_action(clerk, f"/admin/demand/invalid/?id={late.id}",
                           {"reason": "不属于物业服务范围", "cause": "",
                            "row_version": late.version})
    assert "请填写原因分析" in response.get_data(as_text=True)  # R-DEM-6
    assert Demand.get_by_id(late.id).status == "open"
    response = post_action(clerk, f"/admin/demand/invalid/?id={late.id}",
                           {"reason": "不属于物业服务范围", "cause": "业户要求物业维修自家家电",
                            "row_version": late.version})
    assert response.status_code == 302, errors(response)
    late = Demand.get_by_id(late.id)
    assert late.status == "invalid" and late.missed_replies == 1
    assert late.late_minutes >= 21 * 24 * 60 - 125
    post_action(clerk, f"/admin/demand/reply/?id={late.id}",
                {"content": "已礼貌说明原因", "replied_at": "", "row_version": late.version})
    late = Demand.get_by_id(late.id)
    assert late.status == "closed" and late.missed_replies == 1
    after = monthly_review(estate_ids, *window)
    assert (after["replied"], after["on_time"]) == (2, 1)
    assert after["on_time_rate"] == 50.0 <= before["on_time_rate"]
    assert "超时" in DemandStep.get(DemandStep.demand == late.id,
                                    DemandStep.action == "invalid").note


def test_a_supervisor_revises_with_a_reason_beside_the_original(app, login_as, conn):
    """R-REC-1: the revision needs a reason, sets the deadline in force beside the original
    promise, keeps the miss that already happened, is in the history, and the flag it ends
    records who revised (R-REC-5)."""
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    demand = late_urgent_demand(clerk, days=3)
    promised = demand.original_reply_due
    url = f"/admin/demand/revise/?id={demand.id}"
    assert "修订答复期限" in supervisor.get(f"/admin/demand/details/?id={demand.id}").get_data(
        as_text=True)
    requested = to_office(utcnow() + dt.timedelta(days=4)).replace(second=0, microsecond=0)
    fields = {"urgent": "y", "requested_reply_at": requested.strftime("%Y-%m-%d %H:%M"),
              "row_version": demand.version}
    response = post_action(supervisor, url, {**fields, "reason": ""})
    assert "修订答复期限必须说明原因" in response.get_data(as_text=True)
    assert Demand.get_by_id(demand.id).reply_due == promised

    response = post_action(supervisor, url, {**fields, "reason": "业户出差，约定回来后上门"})
    assert response.status_code == 302, errors(response)
    demand = Demand.get_by_id(demand.id)
    assert demand.original_reply_due == promised and demand.reply_due == requested
    assert demand.revision_count == 1 and demand.requested_reply_at == requested
    assert demand.missed_replies == 1 and demand.late_minutes >= 3 * 24 * 60 - 125
    step = DemandStep.select().where(DemandStep.demand == demand.id).order_by(
        DemandStep.id.desc()).first()
    assert step.action == "revise" and step.username == "supervisor"
    assert "业户出差" in step.note and f"{to_office(promised):%Y-%m-%d %H:%M}" in step.note

    outcome = mark_overdue(utcnow())
    assert outcome.cleared == 1 and active(demand) == set()
    flag = OverdueFlag.get(OverdueFlag.row_id == demand.id)
    assert flag.cleared_how == "revise" and flag.cleared_by_id == supervisor.user.id
    page = clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert f"{to_office(promised):%Y-%m-%d %H:%M}" in page
    assert re.search(r'id="revised-due">[^<]*' + requested.strftime("%Y-%m-%d %H:%M"), page)
    history = re.search(r'id="flag-history">(.*?)</table>', page, re.S).group(1)
    assert "需求答复超时" in history and "修订期限" in history and "supervisor" in history

    # Answered before the revised deadline, after the original one: not on time in the review.
    post_action(clerk, f"/admin/demand/reply/?id={demand.id}",
                {"content": "已上门处理", "cause": "水管老化", "replied_at": "",
                 "row_version": demand.version})
    review = monthly_review([demand.estate_id], utcnow() - dt.timedelta(days=10),
                            utcnow() + dt.timedelta(days=1))
    assert (review["replied"], review["on_time"], review["revised"]) == (1, 0, 1)


def test_a_revision_before_the_deadline_records_no_miss(app, login_as, conn):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    demand = intake(clerk, urgent="y")
    response = post_action(supervisor, f"/admin/demand/revise/?id={demand.id}",
                           {"serious": "y", "reason": "经核实不紧急，业户同意两个工作日内答复",
                            "row_version": demand.version})
    assert response.status_code == 302, errors(response)
    demand = Demand.get_by_id(demand.id)
    assert demand.urgent is False and demand.serious is True
    assert demand.reply_due > demand.original_reply_due and demand.missed_replies == 0
    assert demand.promised_urgent is True and demand.promised_serious is False
    assert "紧急（2 小时）" in demand.promise_basis


def test_a_clerk_cannot_revise(app, login_as, conn):
    clerk = login_as("clerk")
    demand = late_urgent_demand(clerk)
    details = clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert "修订答复期限" not in details
    url = f"/admin/demand/revise/?id={demand.id}"
    assert clerk.get(url).status_code == 403
    assert post_action(clerk, url, {"reason": "业户同意延期", "row_version": demand.version}
                       ).status_code == 403
    with pytest.raises(RuleError, match="主管"):
        Demand.get_by_id(demand.id).revise_deadline(clerk.user, serious=False, urgent=False,
                                                    requested_reply_at=None, reason="延期")
    demand = Demand.get_by_id(demand.id)
    assert demand.urgent is True and demand.revision_count == 0
    assert demand.reply_due == demand.original_reply_due
    mark_overdue(utcnow())
    assert active(demand) == {"demand_reply"}


def test_a_demand_does_not_finish_with_a_work_order_left_open(app, login_as, conn):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    engineer = login_as("dept", "engineer", department="engineering")
    demand = intake(clerk)
    department = Department.get(Department.kind == "engineering")
    order = demand.dispatch(clerk.user, department_id=department.id)
    demand = Demand.get_by_id(demand.id)
    for action, data in (("invalid", {"reason": "重复报修", "cause": "同一问题已登记"}),
                         ("complete", {"result": "已处理", "cause": "水管老化",
                                       "completed_at": ""})):
        response = post_action(clerk, f"/admin/demand/{action}/?id={demand.id}",
                               {**data, "row_version": demand.version})
        page = response.get_data(as_text=True)
        assert f"维修单 {order.number} 尚未完工" in page, action
    demand = Demand.get_by_id(demand.id)
    assert demand.status == "dispatched" and WorkOrder.get_by_id(order.id).state == "open"

    # The department completes its order: that completes the demand.
    post_action(engineer, f"/admin/work_order/complete/?id={order.id}",
                {"result": "更换阀门", "completed_at": "", "cost": "", "materials": "",
                 "row_version": order.version})
    assert Demand.get_by_id(demand.id).status == "completed"

    # An order no longer wanted is voided with a reason; then the demand may be judged invalid.
    other = intake(clerk, description="要求物业免费洗车")
    unwanted = other.dispatch(clerk.user, department_id=department.id)
    void_record(WorkOrder.get_by_id(unwanted.id), supervisor.user, "不属于物业服务范围")
    other = Demand.get_by_id(other.id)
    assert post_action(clerk, f"/admin/demand/invalid/?id={other.id}",
                       {"reason": "不属于物业服务范围", "cause": "业户要求私人服务",
                        "row_version": other.version}).status_code == 302
    assert Demand.get_by_id(other.id).status == "invalid"


def test_reply_needs_the_cause(app, login_as, conn):
    clerk = login_as("clerk")
    demand = intake(clerk)
    url = f"/admin/demand/reply/?id={demand.id}"
    page = post_action(clerk, url, {"content": "已安排", "cause": "  ", "replied_at": "",
                                    "row_version": demand.version}).get_data(as_text=True)
    assert "请填写原因分析" in page and "已安排" in page  # the typed reply is kept
    assert Demand.get_by_id(demand.id).replied_at is None
    assert post_action(clerk, url, {"content": "已安排", "cause": "楼上管道渗漏",
                                    "replied_at": "", "row_version": demand.version}
                       ).status_code == 302
    demand = Demand.get_by_id(demand.id)
    assert demand.replied_at is not None and demand.cause == "楼上管道渗漏"
    assert "楼上管道渗漏" in clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(
        as_text=True)


def test_recording_the_result_on_the_demand_needs_the_cause(app, login_as, conn):
    # Recording the result answers the owner (R-DEM-6): the cause comes with it.
    clerk = login_as("clerk")
    demand = intake(clerk)
    url = f"/admin/demand/complete/?id={demand.id}"
    page = post_action(clerk, url, {"result": "已疏通", "cause": "", "completed_at": "",
                                    "row_version": demand.version}).get_data(as_text=True)
    assert "请填写原因分析" in page and Demand.get_by_id(demand.id).status == "open"
    assert post_action(clerk, url, {"result": "已疏通", "cause": "异物堵塞", "completed_at": "",
                                    "row_version": demand.version}).status_code == 302
    demand = Demand.get_by_id(demand.id)
    assert demand.status == "completed" and demand.cause == "异物堵塞"


def test_voiding_a_late_demand_records_who_cleared_its_flag(app, login_as, conn):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    demand = late_urgent_demand(clerk, days=2)
    post_action(clerk, f"/admin/demand/dispatch/?id={demand.id}",
                {"department": Department.get(Department.kind == "engineering").id,
                 "assignee": 0, "what": "", "location": "", "row_version": demand.version})
    void_record(Demand.get_by_id(demand.id), supervisor.user, "重复登记")
    assert mark_overdue(utcnow()).cleared == 1
    flag = OverdueFlag.get(OverdueFlag.row_id == demand.id)
    assert flag.cleared_how == "void" and flag.cleared_by_id == supervisor.user.id


def test_a_callback_not_satisfied_needs_the_owner_s_reason(app, login_as, conn):
    clerk = login_as("clerk")
    demand = intake(clerk)
    demand.complete(clerk.user, result="已疏通")
    demand = Demand.get_by_id(demand.id)
    url = f"/admin/demand/callback/?id={demand.id}"
    answers = {"channel": "phone", "on_time": "3", "attitude": "3", "skill": "2",
               "etiquette": "4", "satisfied": "0", "row_version": demand.version}
    page = post_action(clerk, url, {**answers, "comments": ""}).get_data(as_text=True)
    assert "请记录业户不满意的原因" in page
    assert Demand.get_by_id(demand.id).status == "completed" and Callback.select().count() == 0
    assert post_action(clerk, url, {**answers, "comments": "还在堵"}).status_code == 302
    demand = Demand.get_by_id(demand.id)
    assert demand.status == "open" and Callback.get().comments == "还在堵"
    # The reopen is a new promise on record, with its basis (no requested time any more).
    assert demand.original_reply_due == demand.reply_due > utcnow()
    assert demand.promised_requested_at is None


def test_the_flag_history_shows_who_answered(app, login_as, conn):
    clerk = login_as("clerk")
    demand = late_urgent_demand(clerk, days=1)
    page = clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert "仍超时" in re.search(r'id="flag-history">(.*?)</table>', page, re.S).group(1)
    post_action(clerk, f"/admin/demand/reply/?id={demand.id}",
                {"content": "已修复", "cause": "电闸老化", "replied_at": "",
                 "row_version": demand.version})
    assert mark_overdue(utcnow()).cleared == 1
    assert mark_overdue(utcnow()).note == "无变化"  # an unchanged sweep writes nothing
    page = clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    history = re.search(r'id="flag-history">(.*?)</table>', page, re.S).group(1)
    assert "仍超时" not in history and "答复" in history and "clerk" in history
    flag = OverdueFlag.get(OverdueFlag.row_id == demand.id)
    assert flag.raised_at < flag.cleared_at and flag.cleared_how == "reply"


def test_migration_014_makes_existing_deadlines_the_original_promises(tmp_path):
    """Rows written by schema 013 keep every value; their deadline becomes the promise."""
    url = PG_URL or f"sqlite:///{tmp_path}/old.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    stamp = "'2026-11-02 01:00:00'"
    with app.app_context(), db.connection_context():
        if PG_URL:
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        Router(db.obj, migrate_dir=models.MIGRATIONS_DIR).run("013_department_supervisor")
        assert "original_reply_due" not in {c.name for c in db.get_columns("demand")}
        insert_old_estate()
        for number, urgent, requested, due, reopens in (
                ("XQ-2026-00001", "TRUE", "'2026-11-04 02:00:00'", "'2026-11-04 02:00:00'", 0),
                ("XQ-2026-00002", "FALSE", "NULL", "'2026-11-09 03:00:00'", 1)):
            db.execute_sql(
                "INSERT INTO demand (created_at, updated_at, version, estate_id, voided,"
                " void_reason, number, received_at, channel, kind, category, contact_name,"
                " contact_phone, description, serious, urgent, requested_reply_at, reply_due,"
                " status, invalid_reason, measures, result, reply_content, answered_at_intake,"
                " reopen_count, missed_replies, late_minutes, search_text) VALUES"
                f" ({stamp}, {stamp}, 1, (SELECT id FROM estate), FALSE, '', '{number}',"
                f" {stamp}, 'phone', 'help', 'engineering', '', '', '漏水', TRUE, {urgent},"
                f" {requested}, {due}, 'open', '', '', '', '', FALSE, {reopens}, 1, 30, '')")
        db.execute_sql("INSERT INTO overdue_flag (created_at, updated_at, rule, \"table\","
                       " row_id, estate_id, raised_at, cleared_at) VALUES"
                       f" ({stamp}, {stamp}, 'demand_reply', 'demand', 1,"
                       f" (SELECT id FROM estate), {stamp}, {stamp})")
    db.close()

    assert "014_demand_promises" in models.upgrade()
    with db.connection_context():
        first = Demand.get(Demand.number == "XQ-2026-00001")
        assert first.original_reply_due == first.reply_due == dt.datetime(2026, 11, 4, 2,
                                                                           tzinfo=dt.UTC)
        assert (first.promised_serious, first.promised_urgent) == (True, True)
        assert first.promised_requested_at == first.requested_reply_at
        assert (first.missed_replies, first.late_minutes, first.revision_count) == (1, 30, 0)
        assert first.cause == "" and not first.revised
        second = Demand.get(Demand.number == "XQ-2026-00002")
        assert second.original_reply_due == second.reply_due
        assert second.promised_requested_at is None  # a reopen restarted without it
        flag = OverdueFlag.get()
        assert flag.cleared_at is not None and flag.cleared_how == "" and flag.cleared_by is None
        if not PG_URL:
            # The table was altered in place: the Chinese search's triggers (003) still index.
            triggers = {name for (name,) in db.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'demand'")}
            assert {"demand_fts_ai", "demand_fts_ad", "demand_fts_au"} <= triggers
    assert models.upgrade() == []
