"""Passes through the admin: the worker-pass and goods-release forms refuse bad input next to
the field, money before paper at the desk (R-REC-3), and the print views show the numbers
(R-PASS-1…3, 5, 6, #4)."""

from __future__ import annotations

import datetime as dt

from decoration_support import apply, errors_of, post, to_permit
from passes_support import ID
from test_records import form_data

from models import deadlines
from models.base import office_day, utcnow
from models.org import Unit
from models.passes import TemporaryPass, WorkerPass
from models.permits import GoodsRelease, HotWorkPermit
from models.register import save_record
from models.users import User

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
    from models.users import UserEstate

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
