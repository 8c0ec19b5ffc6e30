"""Decoration through the admin: once end to end from the application to the contractor
deposit's refund, the floor plan replaced through the attachments, and migration 022 that
made the old floor-plan files attachments (R-DECO-1…3, R-REC-2, #4, #16 item 1)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from attachment_support import PDF, post_files
from conftest import csrf_token
from decoration_support import (
    EXE,
    PNG,
    SHANGHAI,
    apply,
    errors_of,
    moment,
    post,
    to_permit,
)
from test_records import form_data

from models import approvals
from models.attachments import Attachment
from models.base import utcnow
from models.decoration import Decoration
from models.deposits import Deposit
from models.org import Resident, Unit
from models.storage import storage
from models.users import User, UserEstate


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
