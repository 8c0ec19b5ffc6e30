"""Passes and permits (R-PASS-1…3, 5, 6): validity at its boundaries, deposits, unique numbers
under concurrent issuing, release only after the owner's confirmation, print views (#4)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from conftest import PG_URL
from decoration_support import SHANGHAI, apply, errors_of, make_staff, post, to_permit
from test_records import form_data

from models import approvals, deadlines
from models.base import RuleError, db, office_day, utcnow
from models.deposits import Deposit
from models.org import Unit
from models.passes import TemporaryPass, WorkerPass
from models.permits import GoodsLine, GoodsRelease, HotWorkPermit, parse_goods
from models.register import save_record
from models.users import User

ID = "11010519491231002X"


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


@pytest.fixture
def permit(estate, staff, tmp_path):
    """A decoration of 1-1-101 with its permit in force for 400 days."""
    today = office_day()
    return to_permit(apply(estate, staff["clerk"], tmp_path,
                           works_end=today + dt.timedelta(days=400)), staff)


def apply_for_card(estate, user, unit_code="1-1-101", **fields) -> WorkerPass:
    """The desk registers a worker's application (待缴费): no number, money asked of finance."""
    values = {"holder_name": "王师傅", "id_number": ID, "phone": "13700001111", "trade": "水电",
              "checked_construction_permit": True, "checked_id": True,
              "checked_residence_permit": True, **fields}
    return save_record(WorkerPass(estate=estate.id, unit=Unit.get(Unit.code == unit_code).id,
                                  **values), user)


def worker(estate, user, unit_code="1-1-101", **fields) -> WorkerPass:
    """An issued card: applied, paid at finance (deposit and card fee), then issued (R-REC-3)."""
    card = apply_for_card(estate, user, unit_code, **fields)
    finance = User.get(User.username == "finance")
    card.deposit.collect(finance)
    card.card_fee.collect(finance)
    card = WorkerPass.get_by_id(card.id)
    card.issue(user)
    return WorkerPass.get_by_id(card.id)


# -- worker passes -----------------------------------------------------------------------------


def test_worker_pass_may_run_exactly_three_months(conn, estate, staff, permit):
    start = office_day() + dt.timedelta(days=1)
    latest = deadlines.add_months(start, 3)
    issued = worker(estate, staff["clerk"], valid_from=start, valid_to=latest)
    assert re.fullmatch(r"CR-\d{4}-00001", issued.number)
    assert issued.decoration_id == permit.id and issued.employer == "美居装饰公司"
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], valid_from=start, valid_to=latest + dt.timedelta(days=1))
    assert refused.value.errors["valid_to"].startswith("出入证有效期最长 3 个月")
    assert WorkerPass.select().count() == 1


@pytest.mark.parametrize("start, latest", [
    (dt.date(2027, 1, 31), dt.date(2027, 4, 30)),
    (dt.date(2027, 3, 31), dt.date(2027, 6, 30)),
    (dt.date(2027, 11, 30), dt.date(2028, 2, 29)),
])
def test_three_months_clamp_at_the_month_end(conn, estate, staff, tmp_path, start, latest):
    to_permit(apply(estate, staff["clerk"], tmp_path,
                    works_end=dt.date(2028, 12, 31)), staff)
    assert worker(estate, staff["clerk"], valid_from=start, valid_to=latest).valid_to == latest
    with pytest.raises(RuleError, match=f"最晚至 {latest:%Y-%m-%d}"):
        worker(estate, staff["clerk"], valid_from=start, valid_to=latest + dt.timedelta(days=1))


def test_worker_pass_never_outlives_the_permit(conn, estate, staff, tmp_path):
    today = office_day()
    permit = to_permit(apply(estate, staff["clerk"], tmp_path,
                             works_end=today + dt.timedelta(days=20)), staff)
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], valid_to=today + dt.timedelta(days=21))
    assert refused.value.errors["valid_to"] == (
        f"不能超过装修许可证 {permit.permit_number} 的有效期 {permit.works_end:%Y-%m-%d}")
    defaulted = worker(estate, staff["clerk"])  # no dates: today to the permit's end
    assert (defaulted.valid_from, defaulted.valid_to) == (today, permit.works_end)


def test_works_cannot_be_shortened_below_a_pass(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"], valid_to=office_day() + dt.timedelta(days=60))
    from models.decoration import Decoration
    from models.register import snapshot

    decoration = Decoration.get_by_id(permit.id)
    before = snapshot(decoration)
    # A permitted decoration's dates change only by a re-approval (#11 item 5).
    decoration.works_end = office_day() + dt.timedelta(days=90)
    with pytest.raises(RuleError, match="须重新审批"):
        save_record(decoration, staff["supervisor"], before=before)
    decoration = Decoration.get_by_id(permit.id)
    change = {"works_start": decoration.works_start, "reason": "业主要求"}
    with pytest.raises(RuleError) as refused:
        approvals.apply_now(decoration, "change_dates", staff["clerk"], staff["supervisor"],
                            {**change, "works_end": office_day() + dt.timedelta(days=59)})
    assert f"有效至 {card.valid_to:%Y-%m-%d}" in refused.value.errors["works_end"]
    approvals.apply_now(Decoration.get_by_id(permit.id), "change_dates", staff["clerk"],
                        staff["supervisor"],
                        {**change, "works_end": office_day() + dt.timedelta(days=90)})
    assert Decoration.get_by_id(permit.id).works_end == office_day() + dt.timedelta(days=90)


def test_no_permit_no_pass_and_nothing_half_saved(conn, estate, staff, tmp_path):
    apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102")  # applied, not permitted
    deposits = Deposit.select().count()
    for unit_code in ("1-1-102", "1-1-201"):
        with pytest.raises(RuleError) as refused:
            worker(estate, staff["clerk"], unit_code=unit_code)
        assert refused.value.errors["unit"] == "该房屋没有有效的装修许可证，不能办理装修工人出入证"
    assert WorkerPass.select().count() == 0 and Deposit.select().count() == deposits


def test_documents_must_be_checked(conn, estate, staff, permit):
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], checked_residence_permit=False, checked_id=False)
    assert set(refused.value.errors) == {"checked_residence_permit", "checked_id"}
    assert "暂住证" in refused.value.errors["checked_residence_permit"]


def test_issuing_asks_deposit_and_fee_and_return_makes_the_deposit_refundable(
        conn, estate, staff, permit):
    card = apply_for_card(estate, staff["clerk"])
    deposit, fee = card.deposit, card.card_fee
    assert (deposit.kind, deposit.amount, deposit.state) == ("pass_deposit", Decimal("50.00"),
                                                             "due")
    assert (fee.kind, fee.amount, fee.payer) == ("card_fee", Decimal("5.00"), "王师傅")
    assert "王师傅" in deposit.purpose and card.number is None and card.state == "applied"
    deposit.collect(staff["finance"])
    fee.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    card.issue(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    card.return_pass(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "returned" and card.returned_by_id == staff["clerk"].id
    assert card.deposit.state == "refundable" and card.deposit.refundable_on == office_day()
    assert card.card_fee.state == "fee"
    with pytest.raises(RuleError, match="已交回"):
        card.return_pass(staff["clerk"])
    # An application never paid is withdrawn, not returned: its money requests are dropped.
    unpaid = apply_for_card(estate, staff["clerk"], holder_name="赵师傅")
    with pytest.raises(RuleError, match="待缴费"):
        unpaid.return_pass(staff["clerk"])
    unpaid.cancel(staff["clerk"], reason="other", note="工人未来交费")
    assert WorkerPass.get_by_id(unpaid.id).state == "cancelled"
    assert {d.state for d in (Deposit.get_by_id(unpaid.deposit_id),
                              Deposit.get_by_id(unpaid.card_fee_id))} == {"cancelled"}


def test_money_before_paper_no_number_until_finance_has_both(conn, estate, staff, permit):
    """R-REC-3, R-PASS-1 (#11 item 4): an application is not issued, numbered or printable
    until finance has recorded the deposit and the card fee in the ledger."""
    card = apply_for_card(estate, staff["clerk"])
    with pytest.raises(RuleError, match="押金.*工本费.*尚未由财务收款登记"):
        card.issue(staff["clerk"])
    card.deposit.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    with pytest.raises(RuleError, match="工本费 尚未由财务收款登记"):
        card.issue(staff["clerk"])
    assert WorkerPass.get_by_id(card.id).number is None
    with pytest.raises(RuleError, match="财务"):  # only finance records money (R-DEP-1)
        card.card_fee.collect(staff["clerk"])
    card.card_fee.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    card.issue(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "issued" and re.fullmatch(r"CR-\d{4}-00001", card.number)


def test_lost_pass_is_cancelled_and_its_deposit_stays_for_finance(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"])
    with pytest.raises(RuleError) as refused:
        card.cancel(staff["clerk"], reason="other")
    assert "note" in refused.value.errors
    card.cancel(staff["clerk"], reason="lost")
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "cancelled" and card.deposit.state == "held"


def test_expired_but_not_returned(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"], valid_to=office_day() + dt.timedelta(days=10))
    last_day = dt.datetime.combine(card.valid_to, dt.time(23, 59), tzinfo=SHANGHAI)
    assert not WorkerPass.expired_not_returned(last_day).exists()
    assert [p.id for p in WorkerPass.expired_not_returned(last_day + dt.timedelta(minutes=1))
            ] == [card.id]
    card.return_pass(staff["clerk"])
    assert not WorkerPass.expired_not_returned(last_day + dt.timedelta(days=1)).exists()


# -- temporary passes --------------------------------------------------------------------------


def test_temporary_pass_is_valid_three_days_counting_the_issue_day(conn, estate, staff):
    monday = dt.datetime(2026, 11, 23, 21, 30, tzinfo=SHANGHAI)
    temporary = save_record(TemporaryPass(estate=estate.id, holder_name="快递员", id_number=ID,
                                          purpose="送货", issued_at=monday,
                                          valid_to=dt.date(2027, 1, 1)), staff["clerk"])
    assert temporary.number.startswith("LS-2026-")
    assert (temporary.valid_from, temporary.valid_to) == (dt.date(2026, 11, 23),
                                                          dt.date(2026, 11, 25))
    wednesday_night = dt.datetime(2026, 11, 25, 23, 59, 59, tzinfo=SHANGHAI)
    assert not TemporaryPass.expired_not_returned(wednesday_night).exists()
    assert TemporaryPass.expired_not_returned(wednesday_night + dt.timedelta(seconds=1)).exists()
    with pytest.raises(RuleError) as refused:
        save_record(TemporaryPass(estate=estate.id, holder_name="无证", purpose="探访",
                                  id_number=""), staff["clerk"])
    assert refused.value.errors["id_number"] == "此项必填"


# -- hot work -----------------------------------------------------------------------------------


def test_hot_work_permit_needs_copies_a_window_and_gets_stamped(conn, estate, staff):
    start = utcnow() + dt.timedelta(hours=1)
    values = {"estate": estate.id, "operator_name": "焊工老陈", "id_number": ID,
              "certificate_number": "T110105194912310", "location": "1-1-101 阳台",
              "work_from": start, "work_to": start - dt.timedelta(minutes=1)}
    with pytest.raises(RuleError) as refused:
        save_record(HotWorkPermit(**values), staff["clerk"])
    assert set(refused.value.errors) == {"certificate_copy_kept", "id_copy_kept", "work_to"}
    values.update(certificate_copy_kept=True, id_copy_kept=True,
                  work_to=start + dt.timedelta(hours=4))
    permit = save_record(HotWorkPermit(**values), staff["clerk"])
    assert permit.number.startswith("DH-") and permit.stamped_by_id == staff["clerk"].id
    assert not HotWorkPermit.expired_not_closed(start + dt.timedelta(hours=4)).exists()
    assert HotWorkPermit.expired_not_closed(start + dt.timedelta(hours=4, seconds=1)).exists()
    with pytest.raises(RuleError, match="完工时间不能早于动火开始时间"):
        permit.close(staff["clerk"], closed_at=utcnow())


# -- goods release ------------------------------------------------------------------------------


def test_goods_lines_are_parsed_with_line_numbers():
    assert parse_goods("沙发 1\n\n纸箱 × 5 个\n冰箱，1台\n电视机x2") == [
        ("沙发", 1, ""), ("纸箱", 5, "个"), ("冰箱", 1, "台"), ("电视机", 2, "")]
    with pytest.raises(ValueError, match="第 2 行“一些杂物”没有数量"):
        parse_goods("沙发 1\n一些杂物")
    with pytest.raises(ValueError, match="第 1 行的数量应在 1 到 9999 之间"):
        parse_goods("沙发 0")


def test_goods_leave_only_after_the_owner_confirmed(conn, estate, staff):
    unit = Unit.get(Unit.code == "1-1-101")
    slip = GoodsRelease(estate=estate.id, unit=unit.id, bearer_name="搬家公司小李",
                        id_number=ID, goods_text="")
    with pytest.raises(RuleError) as refused:
        save_record(slip, staff["clerk"])
    assert "请填写放行物品" in refused.value.errors["goods_text"]
    slip.goods_text = "沙发 1\n纸箱 12 个"
    save_record(slip, staff["clerk"])
    assert [str(line) for line in slip.lines.order_by(GoodsLine.position)] == ["沙发 1",
                                                                                "纸箱 12个"]
    with pytest.raises(RuleError, match="业主尚未确认物品内容和数量，不能放行"):
        slip.release(staff["clerk"])
    with pytest.raises(RuleError) as refused:
        slip.confirm(staff["clerk"], confirmed=True, owner_name="", method="fax")
    assert set(refused.value.errors) == {"owner_name", "method"}
    slip.confirm(staff["clerk"], confirmed=True, owner_name="业主101", method="phone")
    slip = GoodsRelease.get_by_id(slip.id)
    assert slip.state == "confirmed" and slip.confirmed_by_id == staff["clerk"].id
    slip.release(staff["clerk"])
    assert GoodsRelease.get_by_id(slip.id).state == "released"
    refused_slip = GoodsRelease(estate=estate.id, unit=unit.id, bearer_name="陌生人",
                                id_number=ID, goods_text="电脑 1")
    save_record(refused_slip, staff["clerk"])
    refused_slip.confirm(staff["clerk"], confirmed=False, owner_name="业主101", method="phone",
                         note="业主不知情")
    with pytest.raises(RuleError, match="不能放行"):
        GoodsRelease.get_by_id(refused_slip.id).release(staff["clerk"])


# -- numbers under concurrent issuing -------------------------------------------------------------


def test_numbers_stay_unique_when_desks_issue_at_once(conn, estate, staff):
    """Eight desks issue passes and slips at the same moment on the real database."""
    threads, per_thread, errors = 8, 6, []
    unit = Unit.get(Unit.code == "1-1-101").id
    barrier = threading.Barrier(threads)

    def desk(n: int) -> None:
        try:
            db.connect(reuse_if_open=True)
            barrier.wait()
            for i in range(per_thread):
                save_record(TemporaryPass(estate=estate.id, holder_name=f"访客{n}-{i}",
                                          id_number=ID, purpose="探访"), staff["clerk"])
                save_record(GoodsRelease(estate=estate.id, unit=unit, bearer_name=f"搬运{n}",
                                         id_number=ID, goods_text="纸箱 1"), staff["clerk"])
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's number
            errors.append((n, repr(exc)))
        finally:
            db.close()

    workers = [threading.Thread(target=desk, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    year = utcnow().astimezone(SHANGHAI).year
    total = threads * per_thread
    for model, prefix in ((TemporaryPass, "LS"), (GoodsRelease, "FX")):
        numbers = [row.number for row in model.select(model.number)]
        assert sorted(numbers) == [f"{prefix}-{year}-{i:05d}" for i in range(1, total + 1)]
    assert GoodsLine.select().count() == total
    assert PG_URL or db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- through the admin ----------------------------------------------------------------------------


def test_pass_forms_refuse_bad_input_next_to_the_field(login_as, conn, estate, tmp_path):
    clerk = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-102")
    data = form_data(clerk, "/admin/worker_pass/new/")
    data.update({"unit": str(unit.id), "holder_name": "王师傅", "doc_type": "resident_id",
                 "id_number": ID, "checked_construction_permit": "y", "checked_id": "y",
                 "checked_residence_permit": "y", "valid_from": "", "valid_to": ""})
    response = clerk.post("/admin/worker_pass/new/", data=data)
    assert "该房屋没有有效的装修许可证" in errors_of(response)[0]
    assert WorkerPass.select().count() == 0

    people = make_staff_for(estate)
    permit = to_permit(apply(estate, people["clerk"], tmp_path, unit_code="1-1-102",
                             works_end=office_day() + dt.timedelta(days=300)), people)
    today = office_day()
    data.update({"valid_from": f"{today:%Y-%m-%d}",
                 "valid_to": f"{deadlines.add_months(today, 4):%Y-%m-%d}"})
    response = clerk.post("/admin/worker_pass/new/", data=data)
    assert any("出入证有效期最长 3 个月" in e for e in errors_of(response))
    data["valid_to"] = f"{deadlines.add_months(today, 3):%Y-%m-%d}"
    assert clerk.post("/admin/worker_pass/new/", data=data).status_code == 302
    card = WorkerPass.get()
    assert card.decoration_id == permit.id
    # Money before paper (R-REC-3, #11 item 4; this test used to print the card before any
    # money was taken — the manual wins): an application has no number and does not print,
    # and the desk cannot issue it until finance has recorded both payments.
    assert card.state == "applied" and card.number is None
    assert clerk.get(f"/admin/worker_pass/print/?id={card.id}").status_code == 404
    response = post(clerk, f"/admin/worker_pass/issue/?id={card.id}",
                    {"row_version": card.version, "issued_at": ""})
    assert "尚未由财务收款登记" in response.get_data(as_text=True)
    assert WorkerPass.get_by_id(card.id).state == "applied"
    finance = login_as("dept", "cashier", department="finance")
    for deposit in (card.deposit, card.card_fee):
        response = post(finance, f"/admin/deposit/collect/?id={deposit.id}",
                        {"row_version": deposit.version, "collected_at": ""})
        assert response.status_code == 302
    card = WorkerPass.get_by_id(card.id)
    response = post(clerk, f"/admin/worker_pass/issue/?id={card.id}",
                    {"row_version": card.version, "issued_at": ""})
    assert response.status_code == 302
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "issued" and card.number
    printed = clerk.get(f"/admin/worker_pass/print/?id={card.id}").get_data(as_text=True)
    assert card.number in printed and "size: 85.6mm 54mm" in printed and "测试花园" in printed
    assert ID not in printed and "110105********002X" in printed and "押金未缴" not in printed

    data = form_data(clerk, "/admin/goods_release/new/")
    data.update({"unit": str(unit.id), "bearer_name": "搬家公司", "doc_type": "resident_id",
                 "id_number": ID, "goods_text": "沙发\n"})
    response = clerk.post("/admin/goods_release/new/", data=data)
    assert any("第 1 行“沙发”没有数量" in e for e in errors_of(response))
    data["goods_text"] = "沙发 1\n床垫 2 张"
    assert clerk.post("/admin/goods_release/new/", data=data).status_code == 302
    slip = GoodsRelease.get()
    page = clerk.get(f"/admin/goods_release/details/?id={slip.id}").get_data(as_text=True)
    assert "床垫" in page and "/admin/goods_release/release/" not in page
    response = post(clerk, f"/admin/goods_release/release/?id={slip.id}",
                    {"row_version": slip.version, "released_at": ""})
    assert "业主尚未确认" in response.get_data(as_text=True)
    response = post(clerk, f"/admin/goods_release/confirm/?id={slip.id}",
                    {"row_version": slip.version, "confirmed": "1", "owner_name": "业主102",
                     "method": "phone", "confirmed_at": "", "note": ""})
    assert response.status_code == 302, errors_of(response)
    assert post(clerk, f"/admin/goods_release/release/?id={slip.id}",
                {"row_version": slip.version + 1, "released_at": ""}).status_code == 302
    printed = clerk.get(f"/admin/goods_release/print/?id={slip.id}").get_data(as_text=True)
    assert slip.number in printed and "床垫" in printed and "业主102" in printed


def make_staff_for(estate):
    """Model-side helpers for an admin test whose clerk logged in as `clerk`."""
    from models.users import User, UserEstate

    users = {}
    for name, role, department in (("clerk", "clerk", None), ("boss", "supervisor", "cs"),
                                   ("eng", "dept", "engineering"), ("fin", "dept", "finance"),
                                   ("enghead", "dept", "engineering")):
        users[name] = User.get_or_none(User.username == name) or User.create(
            username=name, display_name=name, role=role, department=department,
            password_hash="!", dept_supervisor=name == "enghead")
        UserEstate.get_or_create(user=users[name], estate=estate)
    return {"clerk": users["clerk"], "supervisor": users["boss"], "engineer": users["eng"],
            "finance": users["fin"], "enghead": users["enghead"]}


def test_print_views_show_the_numbers(login_as, conn, estate):
    clerk = login_as("clerk")
    temporary = save_record(TemporaryPass(estate=estate.id, holder_name="快递员", id_number=ID,
                                          purpose="送货"), clerk.user)
    page = clerk.get(f"/admin/temporary_pass/print/?id={temporary.id}").get_data(as_text=True)
    assert temporary.number in page and "3 天，含办证当天" in page and "管理处盖章" in page
    start = utcnow() + dt.timedelta(hours=1)
    hot = save_record(HotWorkPermit(estate=estate.id, operator_name="焊工老陈", id_number=ID,
                                    certificate_number="T1101", certificate_copy_kept=True,
                                    id_copy_kept=True, location="地下车库",
                                    work_from=start, work_to=start + dt.timedelta(hours=2)),
                      clerk.user)
    page = clerk.get(f"/admin/hot_work/print/?id={hot.id}").get_data(as_text=True)
    assert hot.number in page and "管理处红章" in page and "T1101" in page
    listing = clerk.get("/admin/hot_work/").get_data(as_text=True)
    assert hot.number in listing
    assert clerk.get(f"/admin/temporary_pass/print/?id={temporary.id + 99}").status_code == 404
