"""Decoration: application → tests, the 工程主管's signature and the approval inside the
3-working-day window → permit → acceptance → refunds (corrected R-PASS-4, R-DECO-1…3, R-REC-2,
#11 item 9), at every boundary, and once end to end through the admin (#4)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from attachment_support import PDF, post_files
from attachment_support import png as make_png
from conftest import csrf_token
from flask import Flask, has_app_context
from flask_babel import Babel
from test_records import form_data

from models import approvals
from models.attachments import Attachment, check_file
from models.base import RuleError, utcnow
from models.decoration import FLOOR_PLAN, Decoration
from models.deposits import Deposit
from models.heating import in_heating_season
from models.org import Resident, Unit
from models.register import save_record
from models.storage import storage
from models.users import User, UserEstate

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = make_png(40, 30)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def at(y, m, d, hh=10, mm=0):
    """An office wall-clock moment as an aware datetime."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def make_staff(estate) -> dict[str, User]:
    """One user per part the manual gives (model tests: nobody logs in, so no password)."""
    people = {"clerk": ("clerk", None), "supervisor": ("supervisor", "cs"),
              "engineer": ("dept", "engineering"), "finance": ("dept", "finance"),
              "enghead": ("dept", "engineering")}
    users = {}
    for name, (role, department) in people.items():
        users[name] = User.create(username=name, display_name=name, role=role,
                                  department=department, password_hash="!",
                                  dept_supervisor=name == "enghead")
        UserEstate.create(user=users[name], estate=estate)
    return users


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


def apply(estate, user, tmp_path, *, unit_code="1-1-101", applied_at=None, data=PNG,
          filename="plan.png", works_start=None, works_end=None) -> Decoration:
    unit = Unit.get(Unit.code == unit_code)
    owner = Resident.get(Resident.unit == unit)
    today = (applied_at or utcnow()).astimezone(SHANGHAI).date()
    decoration = Decoration(
        estate=estate.id, unit=unit.id, owner=owner.id, contractor="美居装饰公司",
        contractor_contact="李工", contractor_phone="13912345678",
        plan_summary="改水电、卫生间防水、铺地板", applied_at=applied_at or utcnow(),
        works_start=works_start or today, works_end=works_end or today + dt.timedelta(days=90))
    # The plan goes through the attachment checks as the admin's form sends it (R-DECO-1).
    decoration.floor_plan_file = check_file(FLOOR_PLAN, filename, data, "floor_plan_upload")
    if has_app_context():
        return save_record(decoration, user)
    with files_context(tmp_path):
        return save_record(decoration, user)


def files_context(tmp_path):
    """An app context whose attachment store is the test app's own folder (conftest puts the
    app's instance folder at tmp_path/instance), for model calls that keep files. Flask-Babel is
    set up as in the app: the models' messages and office_language() go through it (#12 item 2)."""
    app = Flask("files", instance_path=str(tmp_path / "instance"))
    Babel(app, default_locale="zh_Hans_CN")
    return app.app_context()


def to_signed(decoration: Decoration, staff, at_=None) -> Decoration:
    """Tests passed with the owner's signature and the 工程主管's signature (R-PASS-4)."""
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name=decoration.owner_name, tested_at=at_)
    decoration.engineering_sign(staff["enghead"], signed_at=at_)
    return decoration


def approve(decoration: Decoration, staff, at_=None) -> Decoration:
    """The supervisor approves in their own login (models.approvals, R-REC-2)."""
    approvals.apply_now(decoration, "approve", staff["clerk"], staff["supervisor"],
                        {"note": "同意", "approved_at": at_}, at=at_)
    return decoration


def to_permit(decoration: Decoration, staff) -> Decoration:
    """Test, sign, approve, collect both deposits and issue the permit, all just now."""
    approve(to_signed(decoration, staff), staff)
    for deposit in decoration.deposits():
        deposit.collect(staff["finance"])
    decoration.issue_permit(staff["clerk"])
    return Decoration.get_by_id(decoration.id)


# -- application ---------------------------------------------------------------------------


def test_application_numbers_and_asks_for_both_deposits(conn, estate, staff, tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    assert re.fullmatch(r"ZX-\d{4}-00001", decoration.number)
    assert decoration.owner_name == "业主101" and decoration.state == "applied"
    owner, contractor = decoration.deposits()
    assert (owner.kind, owner.amount, owner.state, owner.payer) == (
        "owner_deco", Decimal("1000.00"), "due", "业主101")
    assert (contractor.kind, contractor.amount, contractor.payer) == (
        "contractor_deco", Decimal("3000.00"), "美居装饰公司")
    # The plan is the row's floor-plan attachment, kept by the attachment store.
    plan = decoration.floor_plan()
    assert (plan.kind, plan.name, plan.content_type) == ("floor_plan", "plan.png", "image/png")
    with files_context(tmp_path):
        assert storage().get(plan.key) is not None and plan.thumb_key
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path)
    assert "已有一份未完结的装修申请" in refused.value.errors["unit"]


@pytest.mark.parametrize("data, filename, message", [
    (EXE, "plan.pdf", "不是可接受的文件"),
    (b"", "plan.png", "是空文件"),
    (PNG + b"\x00" * (10 * 1024 * 1024), "big.png", "超过 10 MB"),
])
def test_bad_floor_plans_are_refused_and_nothing_is_saved(conn, estate, staff, tmp_path,
                                                         data, filename, message):
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path, data=data, filename=filename)
    assert message in refused.value.errors["floor_plan_upload"]
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    assert Attachment.select().count() == 0


def test_an_application_without_a_floor_plan_is_refused(conn, estate, staff):
    """R-DECO-1: the application form plus a floor plan; nothing saved without it."""
    unit = Unit.get(Unit.code == "1-1-101")
    decoration = Decoration(estate=estate.id, unit=unit.id, owner_name="业主101",
                            contractor="美居装饰公司", plan_summary="改水电",
                            works_start=dt.date(2026, 12, 1), works_end=dt.date(2026, 12, 30))
    with pytest.raises(RuleError) as refused:
        save_record(decoration, staff["clerk"])
    assert "请上传装修平面图" in refused.value.errors["floor_plan_upload"]
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0


def test_no_approval_without_a_floor_plan(conn, estate, staff, tmp_path):
    """A row carried over without its plan file (migration 022) cannot be approved."""
    decoration = to_signed(apply(estate, staff["clerk"], tmp_path), staff)
    Attachment.delete().where(Attachment.table == "decoration").execute()
    with pytest.raises(RuleError) as refused:
        approve(Decoration.get_by_id(decoration.id), staff)
    assert "没有装修平面图" in refused.value.errors[""]
    assert Decoration.get_by_id(decoration.id).state == "signed"


# -- deadlines --------------------------------------------------------------------------------


def test_approval_is_due_at_the_end_of_the_third_working_day(conn, estate, staff, tmp_path):
    # Friday 2026-11-20: Mon 23, Tue 24, Wed 25 are the three working days after it.
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 11, 20, 16))
    due = decoration.approval_due.astimezone(SHANGHAI)
    assert (due.date(), due.hour, due.minute) == (dt.date(2026, 11, 25), 23, 59)
    overdue = Decoration.approval_overdue
    assert not overdue(at(2026, 11, 25, 23, 59)).where(Decoration.id == decoration.id).exists()
    assert overdue(at(2026, 11, 26, 0, 0)).where(Decoration.id == decoration.id).exists()


def test_approval_deadline_skips_the_national_day_holiday(conn, estate, staff, tmp_path):
    # 2026-09-30 (Wed): 1–7 October are off, 9 and 10 October (Fri, Sat make-up) and 12 work.
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 9, 30, 9),
                       works_start=dt.date(2026, 10, 15), works_end=dt.date(2026, 12, 31))
    assert decoration.approval_due.astimezone(SHANGHAI).date() == dt.date(2026, 10, 10)


def test_tests_fall_due_inside_the_approval_window(conn, estate, staff, tmp_path):
    """Corrected R-PASS-4 (#11 item 9): the tests are due with the approval, 3 working days from
    the application (Fri 20 → Wed 25), not 3 days after an approval."""
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 11, 20, 9))
    assert decoration.tests_due == decoration.approval_due
    due = decoration.tests_due.astimezone(SHANGHAI)
    assert due.date() == dt.date(2026, 11, 25)
    overdue = Decoration.tests_overdue
    assert not overdue(at(2026, 11, 25, 23, 59)).where(Decoration.id == decoration.id).exists()
    assert overdue(at(2026, 11, 26, 0, 0)).where(Decoration.id == decoration.id).exists()
    # Tested inside the window: no tests flag, but the approval is still due in the window.
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101", tested_at=at(2026, 11, 24, 10))
    assert not overdue(at(2026, 11, 26)).where(Decoration.id == decoration.id).exists()
    assert Decoration.approval_overdue(at(2026, 11, 26)).where(
        Decoration.id == decoration.id).exists()


def test_no_approval_before_the_tests_and_the_signature(conn, estate, staff, tmp_path):
    """The approval comes after the tests and the 工程主管's signature; the permit after it."""
    decoration = apply(estate, staff["clerk"], tmp_path)
    with pytest.raises(RuleError, match="须先完成闭水/打压试验"):
        approve(decoration, staff)
    assert Decoration.get_by_id(decoration.id).state == "applied"
    assert not approvals.ApprovalRequest.of_row(decoration).where(
        approvals.ApprovalRequest.state == "approved").exists()
    to_signed(decoration, staff)
    with pytest.raises(RuleError, match="不能发放装修许可证"):
        decoration.issue_permit(staff["clerk"])
    pending = approvals.ApprovalRequest.pending_for(decoration, "approve")
    assert pending is not None and pending.requested_by_id == staff["clerk"].id


# -- the tests and the heating season -----------------------------------------------------------


@pytest.mark.parametrize("season, day, skippable", [
    ("11-15..03-15", dt.date(2026, 11, 15), True),
    ("11-15..03-15", dt.date(2026, 11, 14), False),
    ("11-15..03-15", dt.date(2027, 3, 15), True),
    ("11-15..03-15", dt.date(2027, 3, 16), False),
    ("", dt.date(2027, 1, 10), False),  # no central heating at all
])
def test_heating_season_bounds(season, day, skippable):
    assert in_heating_season(day, season) is skippable


def test_pressure_test_skippable_only_in_the_heating_season(conn, estate, staff, tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                                skip_pressure=True, owner_confirmed_name="业主101",
                                heating_season="")
    assert "非供暖期必须做打压试验" in refused.value.errors["skip_pressure"]
    assert Decoration.get_by_id(decoration.id).state == "applied"
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                            skip_pressure=True, owner_confirmed_name="业主101",
                            heating_season="01-01..12-31")
    fresh = Decoration.get_by_id(decoration.id)
    assert fresh.state == "tested" and fresh.pressure_test_skipped
    assert fresh.pressure_result_label == "供暖期免做"


def test_failed_test_waits_for_a_retest_and_passing_needs_the_owner(conn, estate, staff,
                                                                   tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    decoration.record_tests(staff["clerk"], water_passed=False, pressure_passed=True,
                            notes="卫生间地漏处渗水")
    assert Decoration.get_by_id(decoration.id).state == "applied"
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True)
    assert "业主确认签字" in refused.value.errors["owner_confirmed_name"]
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    assert Decoration.get_by_id(decoration.id).state == "tested"


def test_only_the_engineering_supervisor_signs_and_only_paid_applications_get_a_permit(
        conn, estate, staff, tmp_path):
    """R-DECO-2, R-REC-4 (#11 item 9): the 工程主管 signs, not any engineer; a clerk's name
    is no approval (R-REC-2)."""
    decoration = apply(estate, staff["clerk"], tmp_path)
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    for not_the_head in (staff["supervisor"], staff["engineer"]):
        with pytest.raises(RuleError, match="只有工程主管"):
            decoration.engineering_sign(not_the_head)
    decoration.engineering_sign(staff["enghead"])
    with pytest.raises(RuleError, match="须经客服主管或管理处主任批准"):
        decoration.approve(staff["clerk"])
    with pytest.raises(RuleError, match="无权审批"):
        approvals.apply_now(decoration, "approve", staff["clerk"], staff["clerk"], {})
    approve(decoration, staff)
    assert Decoration.get_by_id(decoration.id).approved_by_id == staff["supervisor"].id
    with pytest.raises(RuleError, match="业主装修押金、装修企业押金 尚未到财务交纳"):
        decoration.issue_permit(staff["clerk"])
    for deposit in decoration.deposits():
        deposit.collect(staff["finance"])
    number = decoration.issue_permit(staff["clerk"])
    assert re.fullmatch(r"XK-\d{4}-00001", number)
    assert Unit.get_by_id(decoration.unit_id).state == "decorating"


# -- acceptance and the deposits ---------------------------------------------------------------


def test_acceptance_with_defects_then_passed_releases_the_deposits(conn, estate, staff,
                                                                  tmp_path):
    decoration = to_permit(apply(estate, staff["clerk"], tmp_path), staff)
    today = utcnow().astimezone(SHANGHAI).date()
    with pytest.raises(RuleError) as refused:
        decoration.accept(staff["supervisor"], passed=False)
    assert set(refused.value.errors) == {"defects", "rectify_by"}
    decoration.accept(staff["supervisor"], passed=False, defects="阳台防水未做",
                      rectify_by=today + dt.timedelta(days=7))
    assert Decoration.get_by_id(decoration.id).state == "defects"
    assert all(d.state == "held" for d in decoration.deposits())
    assert Decoration.acceptance_pending(utcnow() + dt.timedelta(days=8)).where(
        Decoration.id == decoration.id).exists()
    decoration.accept(staff["supervisor"], passed=True)
    owner, contractor = decoration.deposits()
    assert owner.state == contractor.state == "refundable"
    assert owner.refundable_on == today
    assert contractor.refundable_on > today


@pytest.mark.parametrize("accepted, refundable_on", [
    (dt.date(2025, 10, 31), dt.date(2026, 1, 31)),
    (dt.date(2025, 11, 30), dt.date(2026, 2, 28)),
    (dt.date(2025, 8, 31), dt.date(2025, 11, 30)),
    (dt.date(2023, 11, 30), dt.date(2024, 2, 29)),
])
def test_contractor_deposit_refundable_three_months_after_acceptance(
        conn, estate, staff, tmp_path, accepted, refundable_on):
    start = accepted - dt.timedelta(days=40)
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(*start.timetuple()[:3]),
                       works_start=start, works_end=accepted)
    step = at(*start.timetuple()[:3], 11)
    approve(to_signed(decoration, staff, step), staff, step)
    for deposit in decoration.deposits():
        deposit.collect(staff["finance"], collected_at=step)
    decoration.issue_permit(staff["clerk"], issued_at=step)
    decoration.accept(staff["supervisor"], passed=True,
                      accepted_at=at(*accepted.timetuple()[:3], 16))
    contractor = Decoration.get_by_id(decoration.id).contractor_deposit
    assert contractor.refundable_on == refundable_on
    with pytest.raises(RuleError, match=f"须于 {refundable_on:%Y-%m-%d} 起方可退还"):
        contractor.refund(staff["finance"], to="美居装饰公司",
                          refunded_at=at(*(refundable_on - dt.timedelta(days=1)).timetuple()[:3],
                                         23, 59))
    contractor.refund(staff["finance"], to="美居装饰公司",
                      refunded_at=at(*refundable_on.timetuple()[:3], 9))
    assert Deposit.get_by_id(contractor.id).state == "refunded"


def test_overdue_queries_of_the_register(conn, estate, staff, tmp_path):
    applied = apply(estate, staff["clerk"], tmp_path, applied_at=utcnow() - dt.timedelta(days=9))
    running = apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102",
                    works_end=utcnow().astimezone(SHANGHAI).date())
    to_permit(running, staff)
    later = utcnow() + dt.timedelta(days=2)
    assert [d.id for d in Decoration.approval_overdue(utcnow())] == [applied.id]
    assert [d.id for d in Decoration.acceptance_pending(later)] == [running.id]
    assert not Decoration.acceptance_pending(utcnow()).exists()


# -- end to end through the admin -------------------------------------------------------------


def post(client, url: str, data: dict, **kwargs):
    token = csrf_token(client, "/admin/")
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def errors_of(response) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(r'invalid-feedback[^>]*>\s*(?:<ul[^>]*>\s*<li>)?([^<]+)<', html) + \
        re.findall(r'alert-danger[^>]*>\s*(?:<button[^>]*>[^<]*</button>)?\s*([^<]+)<', html)


def moment(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_whole_decoration_through_the_admin(login_as, conn, app, tmp_path):
    """A clerk runs a decoration from application to the contractor deposit's refund."""
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    engineer = login_as("dept", "engineer", department="engineering")
    enghead = login_as("dept", "enghead", department="engineering")
    User.update(dept_supervisor=True).where(User.id == enghead.user.id).execute()
    finance = login_as("dept", "finance", department="finance")
    unit = Unit.get(Unit.code == "1-1-201")
    owner = Resident.get(Resident.unit == unit)
    start = utcnow() - dt.timedelta(days=130)  # the works ended more than 3 months ago
    works_start = start.astimezone(SHANGHAI).date()

    # Application with a floor plan; a renamed .exe is refused first and nothing is saved.
    data = form_data(clerk, "/admin/decoration/new/")
    data.update({"applied_at": moment(start), "unit": str(unit.id), "owner": str(owner.id),
                 "contractor": "美居装饰公司", "contractor_contact": "李工",
                 "contractor_phone": "13912345678", "plan_summary": "改水电、卫生间防水",
                 "works_start": f"{works_start:%Y-%m-%d}",
                 "works_end": f"{works_start + dt.timedelta(days=30):%Y-%m-%d}"})
    refused = clerk.post("/admin/decoration/new/", content_type="multipart/form-data",
                         data={**data, "floor_plan_upload": (io.BytesIO(EXE), "平面图.pdf")})
    assert refused.status_code == 200
    assert any("不是可接受的文件" in e for e in errors_of(refused))
    # What was typed stays in the form (only the file must be chosen again).
    assert "改水电、卫生间防水" in refused.get_data(as_text=True)
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    missing = clerk.post("/admin/decoration/new/", content_type="multipart/form-data", data=data)
    assert any("请上传装修平面图" in e for e in errors_of(missing))
    created = clerk.post("/admin/decoration/new/", content_type="multipart/form-data",
                         data={**data, "floor_plan_upload": (io.BytesIO(PDF), "平面图.pdf")})
    assert created.status_code == 302, errors_of(created)
    decoration = Decoration.get()
    assert decoration.state == "applied" and decoration.owner_name == owner.name
    url = f"/admin/decoration/details/?id={decoration.id}"
    page = clerk.get(url).get_data(as_text=True)
    assert decoration.number in page and "查看平面图" in page and "审批通过" not in page
    plan = decoration.floor_plan()
    assert plan.kind == "floor_plan" and plan.name == "平面图.pdf"
    plan_url = f"/admin/decoration/file/?id={decoration.id}&file={plan.id}"
    assert plan_url.replace("&", "&amp;") in page
    with clerk.get(plan_url) as served:
        assert served.status_code == 200 and served.data == PDF
        assert served.headers["Content-Type"] == "application/pdf"
        assert served.headers["Content-Security-Policy"] == "sandbox"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client().get(plan_url).status_code == 302  # anonymous: to the login page

    def step(client, action, **fields):
        row = Decoration.get_by_id(decoration.id)
        response = post(client, f"/admin/decoration/{action}/?id={row.id}",
                        {"row_version": row.version, **fields})
        assert response.status_code == 302, (action, errors_of(response))

    # Inside the approval window: the tests, then the 工程主管's signature (R-PASS-4, R-DECO-2).
    tested = moment(start + dt.timedelta(days=1))
    step(clerk, "tests", water_passed="1", pressure_passed="1", owner_confirmed_name=owner.name,
         tested_at=tested, notes="")
    assert "/admin/decoration/sign/" not in clerk.get(url).get_data(as_text=True)
    assert "/admin/decoration/sign/" not in engineer.get(url).get_data(as_text=True)
    row = Decoration.get_by_id(decoration.id)
    assert post(engineer, f"/admin/decoration/sign/?id={row.id}",
                {"row_version": row.version}).status_code == 403  # an engineer is no 工程主管
    assert "/admin/decoration/sign/" in enghead.get(url).get_data(as_text=True)
    step(enghead, "sign", signed_at=moment(start + dt.timedelta(days=1, hours=2)))
    assert Decoration.get_by_id(decoration.id).state == "signed"
    # The supervisor approved in their own login back then; through the admin an approval is
    # always "now" (see test_approvals.py), so this back-dated story records it in the model.
    approvals.apply_now(Decoration.get_by_id(decoration.id), "approve", clerk.user,
                        supervisor.user, {"note": "同意"},
                        at=start + dt.timedelta(days=1, hours=2, minutes=30))

    # No permit before finance has both deposits.
    row = Decoration.get_by_id(decoration.id)
    response = post(clerk, f"/admin/decoration/permit/?id={row.id}",
                    {"row_version": row.version, "issued_at": ""})
    assert "尚未到财务交纳" in response.get_data(as_text=True)
    paid_at = moment(start + dt.timedelta(days=1, hours=3))
    for deposit in row.deposits():
        assert post(clerk, f"/admin/deposit/collect/?id={deposit.id}",
                    {"row_version": deposit.version}).status_code == 403  # not finance
        response = post(finance, f"/admin/deposit/collect/?id={deposit.id}",
                        {"row_version": deposit.version, "collected_at": paid_at})
        assert response.status_code == 302, errors_of(response)
    owner_deposit, contractor_deposit = Decoration.get_by_id(decoration.id).deposits()
    assert owner_deposit.receipt_number.startswith("SJ-") and owner_deposit.state == "held"
    receipt = clerk.get(f"/admin/deposit/print/?id={owner_deposit.id}").get_data(as_text=True)
    assert owner_deposit.receipt_number in receipt and "壹仟元整" in receipt
    assert "测试花园" in receipt and "财务专用章" in receipt

    step(clerk, "permit", issued_at=moment(start + dt.timedelta(days=1, hours=4)))
    decoration = Decoration.get_by_id(decoration.id)
    assert decoration.state == "permitted" and decoration.permit_number.startswith("XK-")
    permit = clerk.get(f"/admin/decoration/print/?id={decoration.id}").get_data(as_text=True)
    assert decoration.permit_number in permit and "测试花园" in permit and "管理处盖章" in permit

    # Acceptance after the works, backdated to when it happened: deposits become refundable.
    accepted = start + dt.timedelta(days=31)
    step(supervisor, "accept", passed="1", defects="", rectify_by="", accepted_at=moment(accepted))
    owner_deposit, contractor_deposit = Decoration.get_by_id(decoration.id).deposits()
    assert owner_deposit.state == contractor_deposit.state == "refundable"
    assert contractor_deposit.refundable_on > owner_deposit.refundable_on

    # Finance refunds: a larger amount is refused, the exact one accepted, a second refused.
    for deposit, payee in ((owner_deposit, owner.name), (contractor_deposit, "美居装饰公司")):
        too_much = post(finance, f"/admin/deposit/refund/?id={deposit.id}",
                        {"row_version": deposit.version, "amount": "5000", "to": payee})
        assert any("超过押金金额" in e for e in errors_of(too_much))
        done = post(finance, f"/admin/deposit/refund/?id={deposit.id}",
                    {"row_version": deposit.version, "amount": str(deposit.amount),
                     "to": payee})
        assert done.status_code == 302, errors_of(done)
        again = post(finance, f"/admin/deposit/refund/?id={deposit.id}",
                     {"row_version": deposit.version + 1, "amount": "1", "to": payee,
                      "approved_by": "0"})
        assert "不能重复退款" in again.get_data(as_text=True)
    page = finance.get(f"/admin/deposit/details/?id={contractor_deposit.id}").get_data(
        as_text=True)
    assert f"装修申请 {decoration.number}" in page and "/admin/deposit/refund/" not in page
    refunded = {d.kind: d for d in Decoration.get_by_id(decoration.id).deposits()}
    assert refunded["contractor_deco"].state == "refunded"
    assert refunded["contractor_deco"].refunded_by_id == finance.user.id
    assert refunded["contractor_deco"].refunded_to == "美居装饰公司"

    ledger = supervisor.get("/admin/deposit/").get_data(as_text=True)
    assert 'data-total="refunded">¥4,000.00' in ledger and "不平衡" not in ledger
    details = clerk.get(url).get_data(as_text=True)
    assert details.count("已退") >= 2 and "已验收" in details


def test_floor_plan_replaced_through_the_attachments(login_as, conn, app, estate, tmp_path):
    """A corrected plan is another floor-plan attachment (the older one is kept), until the
    permit is issued (R-DECO-1): one attachment mechanism, no floor-plan twin."""
    clerk = login_as("clerk")
    decoration = apply(estate, clerk.user, tmp_path, data=PDF, filename="old.pdf")
    details = clerk.get(f"/admin/decoration/details/?id={decoration.id}").get_data(as_text=True)
    url = f"/admin/decoration/attach/?id={decoration.id}&kind=floor_plan"
    assert url.replace("&", "&amp;") in details and "/admin/decoration/plan/" not in details

    wrong = post_files(clerk, url, {"csrf_token": csrf_token(clerk, url),
                                    "file": (EXE, "new.png")})
    assert "不是可接受的文件" in wrong.get_data(as_text=True)
    assert decoration.floor_plan().name == "old.pdf"

    done = post_files(clerk, url, {"csrf_token": csrf_token(clerk, url),
                                   "file": (PNG, "new.png")})
    assert done.status_code == 302
    assert (decoration.floor_plan().name, decoration.floor_plan().content_type) == (
        "new.png", "image/png")
    assert [a.name for a in Attachment.of(decoration, ["floor_plan"])] == ["old.pdf", "new.png"]

    # After the permit the plan is closed: no 上传 button, and a post is refused in Chinese.
    staff = make_staff_for_permit(estate)
    to_permit(Decoration.get_by_id(decoration.id), staff)
    details = clerk.get(f"/admin/decoration/details/?id={decoration.id}").get_data(as_text=True)
    assert url.replace("&", "&amp;") not in details
    closed = post_files(clerk, url, {"csrf_token": csrf_token(clerk, url),
                                     "file": (PNG, "late.png")})
    assert "许可证已发放，不能再更换装修平面图" in closed.get_data(as_text=True)
    assert Attachment.of(decoration, ["floor_plan"]).count() == 2


def make_staff_for_permit(estate) -> dict[str, User]:
    """The people to_permit needs, beside a logged-in clerk (names not taken by login_as)."""
    people = {}
    for name, role, department in (("m_clerk", "clerk", None), ("m_sup", "supervisor", "cs"),
                                   ("m_fin", "dept", "finance"),
                                   ("m_eng", "dept", "engineering")):
        people[name] = User.create(username=name, display_name=name, role=role,
                                   department=department, password_hash="!",
                                   dept_supervisor=name == "m_eng")
        UserEstate.create(user=people[name], estate=estate)
    return {"clerk": people["m_clerk"], "supervisor": people["m_sup"],
            "finance": people["m_fin"], "enghead": people["m_eng"]}



# -- migration 022: floor plans carried over into attachments ---------------------------------


def test_migration_022_makes_the_floor_plans_attachments(tmp_path):
    """Schema 022 copies each decoration's plan file into the attachment store as its
    floor-plan attachment (re-encoded, without the photo's location), reports a missing file,
    keeps the old files and drops the floor_plan* columns (#16 item 1, R-DECO-1)."""
    import hashlib

    from attachment_support import GPS_IFD, photo
    from conftest import PG_URL
    from peewee import CharField, IntegerField
    from PIL import Image

    import models
    from app import create_app
    from models.base import db
    from models.estate import Branch, Estate
    from models.org import Building, Cluster

    if PG_URL:
        pytest.skip("the upgrade path is checked on a SQLite file of the older schema")

    class OldDecoration(Decoration):
        """The decoration row as schema 021 had it, with the old floor_plan* columns."""

        floor_plan = CharField(max_length=128)
        floor_plan_name = CharField(max_length=128)
        floor_plan_type = CharField(max_length=32)
        floor_plan_size = IntegerField()

        class Meta:
            table_name = "decoration"

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/old.db", "SECRET_KEY": "x"})
    app.instance_path = str(tmp_path / "instance")
    legacy = tmp_path / "instance" / "uploads" / "floor_plans"
    with app.app_context():
        models.upgrade("021_owner_side")
        with db.connection_context():
            estate = Estate.create(branch=Branch.create(name="分公司"), code="OLD", name="老小区")
            building = Building.create(estate=estate, name="1栋",
                                       cluster=Cluster.create(estate=estate, name="一组团"))
            units = [Unit.create(estate=estate, building=building, room=r, code=f"1-{r}")
                     for r in ("101", "102", "103")]
            plan_photo, plan_pdf = photo(1200, 900), PDF
            rows = []
            for unit, data, ext, name in ((units[0], plan_photo, "jpg", "平面图.jpg"),
                                          (units[1], plan_pdf, "pdf", "平面图.pdf"),
                                          (units[2], b"gone", "png", "丢失.png")):
                stored = f"{estate.id}/{hashlib.sha256(data).hexdigest()}.{ext}"
                if data != b"gone":
                    (legacy / str(estate.id)).mkdir(parents=True, exist_ok=True)
                    (legacy / stored).write_bytes(data)
                rows.append(OldDecoration.insert(
                    estate=estate.id, number=f"ZX-{unit.room}", unit=unit.id, owner_name="业主",
                    contractor="美居", plan_summary="改水电", works_start=dt.date(2026, 1, 5),
                    works_end=dt.date(2026, 3, 5), applied_at=utcnow(), floor_plan=stored,
                    floor_plan_name=name, floor_plan_type="x", floor_plan_size=1).execute())
        assert "022_floor_plan_attachments" in models.upgrade("022_floor_plan_attachments")
        with db.connection_context():
            columns = {c.name for c in db.get_columns("decoration")}
            assert not {"floor_plan", "floor_plan_name"} & columns
            picture = Decoration.get_by_id(rows[0]).floor_plan()
            assert (picture.name, picture.content_type, picture.estate_id) == (
                "平面图.jpg", "image/jpeg", estate.id)
            kept = storage().get(picture.key)
            with Image.open(io.BytesIO(kept)) as image:
                assert image.size == (1200, 900) and not image.getexif().get_ifd(GPS_IFD)
            assert storage().get(picture.thumb_key) is not None
            scan = Decoration.get_by_id(rows[1]).floor_plan()
            assert scan.content_type == "application/pdf" and storage().get(scan.key) == PDF
            assert Decoration.get_by_id(rows[2]).floor_plan() is None  # its file was missing
            assert Attachment.select().count() == 2
            # Rolled back, the columns come back (empty) and the attachments stay.
            models.router().rollback()
            columns = {c.name for c in db.get_columns("decoration")}
            assert {"floor_plan", "floor_plan_name", "floor_plan_type",
                    "floor_plan_size"} <= columns
            assert Attachment.select().count() == 2
    assert len(list(legacy.rglob("*.*"))) == 2  # the old files stay where they were
