"""Decoration: application → approval → tests → signature → permit → acceptance → refunds
(R-PASS-4, R-DECO-1…3), at every boundary, and once end to end through the admin (#4)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import csrf_token
from test_records import form_data

from models.base import RuleError, utcnow
from models.decoration import Decoration
from models.deposits import Deposit
from models.floor_plans import Upload, sniff
from models.heating import in_heating_season
from models.org import Resident, Unit
from models.register import save_record
from models.users import User, UserEstate

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def at(y, m, d, hh=10, mm=0):
    """An office wall-clock moment as an aware datetime."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def make_staff(estate) -> dict[str, User]:
    """One user per part the manual gives (model tests: nobody logs in, so no password)."""
    people = {"clerk": ("clerk", None), "supervisor": ("supervisor", "cs"),
              "engineer": ("dept", "engineering"), "finance": ("dept", "finance")}
    users = {}
    for name, (role, department) in people.items():
        # The engineer here is the 工程主管 (signs the tests, R-REC-4, #11 item 5).
        users[name] = User.create(username=name, display_name=name, role=role,
                                  department=department, password_hash="!",
                                  dept_supervisor=name == "engineer")
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
    decoration.floor_plan_upload = Upload(filename, data, str(tmp_path / "plans"))
    return save_record(decoration, user)


def to_permit(decoration: Decoration, staff) -> Decoration:
    """Approve, test, sign, collect both deposits and issue the permit, all just now."""
    decoration.approve(staff["supervisor"])
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name=decoration.owner_name)
    decoration.engineering_sign(staff["engineer"])
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
    stored = tmp_path / "plans" / decoration.floor_plan
    assert stored.read_bytes() == PNG and decoration.floor_plan_type == "image/png"
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path)
    assert "已有一份未完结的装修申请" in refused.value.errors["unit"]


@pytest.mark.parametrize("data, filename, message", [
    (EXE, "plan.pdf", "内容不是这些格式"),
    (b"", "plan.png", "文件是空的"),
    (PNG + b"\x00" * (10 * 1024 * 1024), "big.png", "不能超过 10 MB"),
])
def test_bad_floor_plans_are_refused_and_nothing_is_saved(conn, estate, staff, tmp_path,
                                                         data, filename, message):
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path, data=data, filename=filename)
    assert message in refused.value.errors["floor_plan_upload"]
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    assert not (tmp_path / "plans").exists()


def test_sniffing_goes_by_content_not_name():
    assert sniff(PDF) == ("application/pdf", "pdf")
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 10) == ("image/jpeg", "jpg")
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", "webp")
    assert sniff(EXE) is None and sniff(b"<html>") is None


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


def test_tests_are_due_three_days_after_approval(conn, estate, staff, tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 11, 20, 9))
    decoration.approve(staff["supervisor"], approved_at=at(2026, 11, 23, 15))
    due = decoration.tests_due.astimezone(SHANGHAI)
    assert due.date() == dt.date(2026, 11, 26)  # calendar days: Tue, Wed, Thu
    overdue = Decoration.tests_overdue
    assert not overdue(at(2026, 11, 26, 23, 59)).where(Decoration.id == decoration.id).exists()
    assert overdue(at(2026, 11, 27, 0, 0)).where(Decoration.id == decoration.id).exists()


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
    decoration.approve(staff["supervisor"])
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                                skip_pressure=True, owner_confirmed_name="业主101",
                                heating_season="")
    assert "非供暖期必须做打压试验" in refused.value.errors["skip_pressure"]
    assert Decoration.get_by_id(decoration.id).state == "approved"
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                            skip_pressure=True, owner_confirmed_name="业主101",
                            heating_season="01-01..12-31")
    fresh = Decoration.get_by_id(decoration.id)
    assert fresh.state == "tested" and fresh.pressure_test_skipped
    assert fresh.pressure_result_label == "供暖期免做"


def test_failed_test_waits_for_a_retest_and_passing_needs_the_owner(conn, estate, staff,
                                                                   tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    decoration.approve(staff["supervisor"])
    decoration.record_tests(staff["clerk"], water_passed=False, pressure_passed=True,
                            notes="卫生间地漏处渗水")
    assert Decoration.get_by_id(decoration.id).state == "approved"
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True)
    assert "业主确认签字" in refused.value.errors["owner_confirmed_name"]
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    assert Decoration.get_by_id(decoration.id).state == "tested"


def test_only_engineering_signs_and_only_paid_applications_get_a_permit(conn, estate, staff,
                                                                       tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    with pytest.raises(RuleError, match="客服主管或管理处主任审批"):
        decoration.approve(staff["clerk"])
    decoration.approve(staff["supervisor"])
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    with pytest.raises(RuleError, match="工程部主管"):
        decoration.engineering_sign(staff["supervisor"])
    # Since #11 (R-REC-4): a technician of engineering is not the 工程主管 either.
    technician = User.create(username="tech", display_name="tech", role="dept",
                             department="engineering", password_hash="!")
    with pytest.raises(RuleError, match="工程部主管"):
        decoration.engineering_sign(technician)
    decoration.engineering_sign(staff["engineer"])
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
    decoration.approve(staff["supervisor"], approved_at=step)
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101", tested_at=step)
    decoration.engineering_sign(staff["engineer"], signed_at=step)
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
    User.update(dept_supervisor=True).where(User.username == "engineer").execute()  # 工程主管
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
    assert any("内容不是这些格式" in e for e in errors_of(refused))
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    created = clerk.post("/admin/decoration/new/", content_type="multipart/form-data",
                         data={**data, "floor_plan_upload": (io.BytesIO(PDF), "平面图.pdf")})
    assert created.status_code == 302, errors_of(created)
    decoration = Decoration.get()
    assert decoration.state == "applied" and decoration.owner_name == owner.name
    url = f"/admin/decoration/details/?id={decoration.id}"
    page = clerk.get(url).get_data(as_text=True)
    assert decoration.number in page and "查看平面图" in page and "审批通过" not in page
    with clerk.get(f"/admin/decoration/floor-plan/?id={decoration.id}") as plan:
        assert plan.status_code == 200 and plan.data == PDF
        assert plan.headers["Content-Type"] == "application/pdf"
        assert plan.headers["Content-Security-Policy"] == "sandbox"
    assert (tmp_path / "instance" / "uploads" / "floor_plans" / decoration.floor_plan).exists()
    assert app.test_client().get(f"/admin/decoration/floor-plan/?id={decoration.id}"
                                 ).status_code == 302  # anonymous: to the login page

    def step(client, action, **fields):
        row = Decoration.get_by_id(decoration.id)
        response = post(client, f"/admin/decoration/{action}/?id={row.id}",
                        {"row_version": row.version, **fields})
        assert response.status_code == 302, (action, errors_of(response))

    step(supervisor, "approve", note="同意", approved_at=moment(start + dt.timedelta(hours=3)))
    tested = moment(start + dt.timedelta(days=1))
    step(clerk, "tests", water_passed="1", pressure_passed="1", owner_confirmed_name=owner.name,
         tested_at=tested, notes="")
    assert "/admin/decoration/sign/" not in clerk.get(url).get_data(as_text=True)
    assert "/admin/decoration/sign/" in engineer.get(url).get_data(as_text=True)
    step(engineer, "sign", signed_at=moment(start + dt.timedelta(days=1, hours=2)))

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
                        {"row_version": deposit.version, "amount": "5000", "to": payee,
                         "approved_by": "0"})
        assert any("超过押金金额" in e for e in errors_of(too_much))
        done = post(finance, f"/admin/deposit/refund/?id={deposit.id}",
                    {"row_version": deposit.version, "amount": str(deposit.amount),
                     "to": payee, "approved_by": "0"})
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


def test_floor_plan_replaced_through_the_admin(login_as, conn, app, estate, tmp_path):
    """更换平面图 is a declared row action whose form posts the file (R-DECO-1)."""
    clerk = login_as("clerk")
    decoration = apply(estate, clerk.user, tmp_path, data=PDF, filename="old.pdf")
    url = f"/admin/decoration/plan/?id={decoration.id}"
    details = clerk.get(f"/admin/decoration/details/?id={decoration.id}").get_data(as_text=True)
    assert "更换平面图" in details and "/admin/decoration/plan/" in details
    form = clerk.get(url).get_data(as_text=True)
    assert "更换装修平面图" in form and 'enctype="multipart/form-data"' in form

    missing = post(clerk, url, {"row_version": decoration.version},
                   content_type="multipart/form-data")
    assert missing.status_code == 200 and "请选择平面图文件" in errors_of(missing)
    wrong = post(clerk, url, {"row_version": decoration.version,
                              "floor_plan_upload": (io.BytesIO(EXE), "new.png")},
                 content_type="multipart/form-data")
    assert any("内容不是这些格式" in e for e in errors_of(wrong))
    assert Decoration.get_by_id(decoration.id).floor_plan_name == "old.pdf"

    done = post(clerk, url, {"row_version": decoration.version,
                             "floor_plan_upload": (io.BytesIO(PNG), "new.png")},
                content_type="multipart/form-data", follow_redirects=True)
    assert "平面图已更换" in done.get_data(as_text=True)
    replaced = Decoration.get_by_id(decoration.id)
    assert (replaced.floor_plan_name, replaced.floor_plan_type) == ("new.png", "image/png")
    assert replaced.version == decoration.version + 1
    with app.app_context():  # kept in the app's own plan folder
        assert replaced.floor_plan_path() is not None
