"""The decoration register's shared steps for the tests: the staff the manual names, an
application with its floor plan, and the way to the signature, the approval and the permit
(R-PASS-4, R-DECO-1…3, R-REC-2), plus the admin posts the end-to-end tests make (#4, #10)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from attachment_support import png as make_png
from conftest import csrf_token
from flask import Flask, has_app_context
from flask_babel import Babel

from models import approvals
from models.attachments import check_file
from models.base import utcnow
from models.decoration import FLOOR_PLAN, Decoration
from models.org import Resident, Unit
from models.register import save_record
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

def post(client, url: str, data: dict, **kwargs):
    token = csrf_token(client, "/admin/")
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def errors_of(response) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(r'invalid-feedback[^>]*>\s*(?:<ul[^>]*>\s*<li>)?([^<]+)<', html) + \
        re.findall(r'alert-danger[^>]*>\s*(?:<button[^>]*>[^<]*</button>)?\s*([^<]+)<', html)


def moment(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

