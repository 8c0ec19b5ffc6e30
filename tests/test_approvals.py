"""Real approvals through the real stack (R-REC-2, #11 items 3 and 5): the request waits in the
approver's queue with its count, the approver approves or rejects in their own login, or at the
desk with their own password or PIN (verified, throttled, audited); a clerk's own password is no
approval; the director alone consents to outside help; a permitted decoration's new dates need
a re-approval; migration 015 carries old approvals over as legacy."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, PG_URL
from decoration_support import apply, errors_of, post, to_permit
from test_office_common import ago
from test_records import form_data

import models
from models.approvals import ApprovalRequest
from models.base import db, office_day, utcnow
from models.decoration import Decoration
from models.emergencies import Emergency, EmergencyStep
from models.keys import KeyMovement, KeySet
from models.org import Unit
from models.register import AuditLog, save_record
from models.users import LoginAttempt, User

LOCAL = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def desk(login_as, conn, estate):
    """A clerk at the desk, the supervisor and the director of the estate, and a key set."""
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    director = login_as("director")
    unit = Unit.get(Unit.code == "1-1-101")
    keys = save_record(KeySet(estate=estate.id, unit=unit.id, hook="A-01"), clerk.user)
    return {"clerk": clerk, "supervisor": supervisor, "director": director, "keys": keys}


def loan_form(keys, **extra) -> dict:
    back = (utcnow() + dt.timedelta(hours=3)).astimezone(LOCAL)
    return {"row_version": KeySet.get_by_id(keys.id).version, "borrower_name": "水电师傅",
            "borrower_phone": "", "borrower_type": "other", "purpose": "检修水管",
            "expected_return": f"{back:%Y-%m-%d %H:%M}", "signed": "y", "at": "", **extra}


def lend_url(keys) -> str:
    return f"/admin/key_set/lend/?id={keys.id}"


def test_desk_approval_with_the_approvers_own_password(desk):
    clerk, supervisor, keys = desk["clerk"], desk["supervisor"], desk["keys"]
    done = post(clerk, lend_url(keys), loan_form(keys, approver_username="supervisor",
                                                 approver_secret=PASSWORD))
    assert done.status_code == 302, errors_of(done)
    loan = KeyMovement.get(KeyMovement.kind == "lend")
    assert loan.approved_by_id == supervisor.user.id and loan.created_by_id == clerk.user.id
    decided = ApprovalRequest.get()
    assert (decided.state, decided.how, decided.decided_by_id, decided.desk_operator_id) == (
        "approved", "desk", supervisor.user.id, clerk.user.id)
    # Audited as the approver's act, on the clerk's screen.
    approval_audit = AuditLog.select().where(AuditLog.table == "approval_request",
                                             AuditLog.action == "update").get()
    assert approval_audit.user_id == supervisor.user.id
    page = clerk.get(f"/admin/key_set/details/?id={keys.id}").get_data(as_text=True)
    assert "审批人在前台输入本人密码/PIN" in page


def test_wrong_secret_is_refused_audited_and_throttled(desk, app):
    clerk, keys = desk["clerk"], desk["keys"]
    for attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        refused = post(clerk, lend_url(keys), loan_form(keys, approver_username="supervisor",
                                                        approver_secret=f"wrong-{attempt}"))
        assert refused.status_code == 200
        assert "审批人用户名或密码/PIN 错误" in errors_of(refused)
    # Locked like the login: even the right password is refused now, and nothing moved.
    locked = post(clerk, lend_url(keys), loan_form(keys, approver_username="supervisor",
                                                   approver_secret=PASSWORD))
    assert any("失败次数过多" in e for e in errors_of(locked))
    assert KeySet.get_by_id(keys.id).location == "office"
    assert not ApprovalRequest.select().exists()
    failures = AuditLog.select().where(AuditLog.action == "approve_failed")
    assert failures.count() == app.config["LOGIN_MAX_FAILURES"] + 1
    assert all(PASSWORD not in a.changes for a in failures)
    assert LoginAttempt.name_locked("supervisor", max_failures=5, window_minutes=15)


def test_a_clerks_own_password_does_not_approve(desk, login_as):
    clerk, keys = desk["clerk"], desk["keys"]
    own = post(clerk, lend_url(keys), loan_form(keys, approver_username="clerk",
                                                approver_secret=PASSWORD))
    assert any("不能使用当前登录人的账号" in e for e in errors_of(own))
    login_as("clerk", "clerk2")
    colleague = post(clerk, lend_url(keys), loan_form(keys, approver_username="clerk2",
                                                      approver_secret=PASSWORD))
    assert any("clerk2无权审批此事项" in e for e in errors_of(colleague))
    assert KeySet.get_by_id(keys.id).location == "office"
    assert not ApprovalRequest.select().exists()


def test_desk_approval_with_a_pin_the_approver_set(desk):
    clerk, supervisor, keys = desk["clerk"], desk["supervisor"], desk["keys"]
    assert clerk.get("/admin/approval_pin/").status_code == 403  # a clerk approves nothing
    wrong = post(supervisor, "/admin/approval_pin/", {"password": "nope-nope", "pin": "246810",
                                                      "confirm": "246810"})
    assert "当前登录密码不正确" in errors_of(wrong)
    short = post(supervisor, "/admin/approval_pin/", {"password": PASSWORD, "pin": "12a",
                                                      "confirm": "12a"})
    assert any("6 到 12 位数字" in e for e in errors_of(short))
    done = post(supervisor, "/admin/approval_pin/", {"password": PASSWORD, "pin": "246810",
                                                     "confirm": "246810"})
    assert done.status_code == 302
    stored = User.get_by_id(supervisor.user.id).approval_pin_hash
    assert stored and "246810" not in stored  # hashed
    approved = post(clerk, lend_url(keys), loan_form(keys, approver_username="supervisor",
                                                     approver_secret="246810"))
    assert approved.status_code == 302, errors_of(approved)
    assert KeySet.get_by_id(keys.id).location == "lent"
    assert ApprovalRequest.get().how == "desk"


def test_rejected_in_own_login_leaves_the_row_unchanged_with_the_reason(desk):
    clerk, supervisor, keys = desk["clerk"], desk["supervisor"], desk["keys"]
    assert post(clerk, lend_url(keys), loan_form(keys)).status_code == 302
    pending = ApprovalRequest.get()
    menu = supervisor.get("/admin/key_set/").get_data(as_text=True)
    assert 'id="approvals-menu"' in menu and 'data-count="1"' in menu
    assert 'id="approvals-menu"' not in clerk.get("/admin/key_set/").get_data(as_text=True)
    no_reason = post(supervisor, f"/admin/approval_queue/decide/?id={pending.id}",
                     {"decision": "reject", "note": ""})
    assert "驳回时请填写原因" in errors_of(no_reason)
    version = KeySet.get_by_id(keys.id).version
    rejected = post(supervisor, f"/admin/approval_queue/decide/?id={pending.id}",
                    {"decision": "reject", "note": "非本小区维修人员"})
    assert rejected.status_code == 302
    keys = KeySet.get_by_id(keys.id)
    assert (keys.location, keys.version) == ("office", version)
    assert not KeyMovement.select().where(KeyMovement.kind == "lend").exists()
    page = clerk.get(f"/admin/key_set/details/?id={keys.id}").get_data(as_text=True)
    assert "已驳回" in page and "非本小区维修人员" in page
    # Decided once: a second decision is refused.
    assert supervisor.get(f"/admin/approval_queue/decide/?id={pending.id}").status_code == 404


def test_the_queue_is_scoped_to_the_approvers_estates(desk, make_user, other_estate, app):
    from conftest import login

    assert post(desk["clerk"], lend_url(desk["keys"]), loan_form(desk["keys"])).status_code == 302
    pending = ApprovalRequest.get()
    make_user("far_sup", "supervisor", other_estate)
    far = app.test_client()
    login(far, "far_sup")
    queue = far.get("/admin/approval_queue/").get_data(as_text=True)
    assert "水电师傅" not in queue
    assert far.get(f"/admin/approval_queue/decide/?id={pending.id}").status_code == 404


def test_the_director_alone_consents_to_outside_help(desk, estate):
    clerk, director = desk["clerk"], desk["director"]
    incident = save_record(Emergency(
        estate=estate.id, occurred_at=ago(hours=1), place="3栋", kind="fire",
        description="厨房起火", reported_by="业主", first_reported_to="值班客服",
        reported_at=ago(hours=1)), clerk.user)
    url = f"/admin/emergency/step/?id={incident.id}"
    form = {"kind": "outside_help", "who": "119 消防", "note": "火势扩大", "at": ""}
    by_supervisor = post(clerk, url, {**form, "approver_username": "supervisor",
                                      "approver_secret": PASSWORD})
    assert any("supervisor无权审批此事项，须由管理处主任审批" in e
               for e in errors_of(by_supervisor))
    assert not EmergencyStep.select().exists()
    by_director = post(clerk, url, {**form, "approver_username": "director",
                                    "approver_secret": PASSWORD})
    assert by_director.status_code == 302, errors_of(by_director)
    step = EmergencyStep.get()
    assert step.consent_by_id == director.user.id and step.created_by_id == clerk.user.id
    assert ApprovalRequest.get().how == "desk"


def test_a_permitted_decorations_new_dates_need_a_re_approval(desk, estate, tmp_path):
    from decoration_support import make_staff

    clerk, supervisor = desk["clerk"], desk["supervisor"]
    staff = make_staff_with(estate, clerk.user, supervisor.user, make_staff)
    decoration = to_permit(apply(estate, clerk.user, tmp_path, unit_code="1-1-102"), staff)
    old_end = decoration.works_end
    # The plain edit is refused next to the field.
    data = form_data(clerk, f"/admin/decoration/edit/?id={decoration.id}")
    data["works_end"] = f"{old_end + dt.timedelta(days=300):%Y-%m-%d}"
    edited = clerk.post(f"/admin/decoration/edit/?id={decoration.id}", data=data)
    assert any("须重新审批" in e for e in errors_of(edited))
    assert Decoration.get_by_id(decoration.id).works_end == old_end
    # 变更工期 by the clerk waits for a manager; the supervisor approves in own login.
    new_end = old_end + dt.timedelta(days=30)
    asked = post(clerk, f"/admin/decoration/dates/?id={decoration.id}", {
        "row_version": Decoration.get_by_id(decoration.id).version,
        "works_start": f"{decoration.works_start:%Y-%m-%d}", "works_end": f"{new_end:%Y-%m-%d}",
        "reason": "业主出差，工期顺延"})
    assert asked.status_code == 302, errors_of(asked)
    assert Decoration.get_by_id(decoration.id).works_end == old_end
    pending = ApprovalRequest.get(ApprovalRequest.action == "change_dates")
    assert pending.state == "pending" and "工期顺延" in pending.summary
    approved = post(supervisor, f"/admin/approval_queue/decide/?id={pending.id}",
                    {"decision": "approve", "note": ""})
    assert approved.status_code == 302, errors_of(approved)
    fresh = Decoration.get_by_id(decoration.id)
    assert fresh.works_end == new_end and "工期变更经supervisor批准" in fresh.approval_note


def make_staff_with(estate, clerk, supervisor, make_staff):
    """The model-side people of a decoration, reusing the logged-in clerk and supervisor."""
    from models.users import UserEstate

    users = {"clerk": clerk, "supervisor": supervisor}
    for name, department, head in (("finance", "finance", False),
                                   ("enghead", "engineering", True)):
        users[name] = User.create(username=name, display_name=name, role="dept",
                                  department=department, dept_supervisor=head,
                                  password_hash="!")
        UserEstate.create(user=users[name], estate=estate)
    return users


@pytest.mark.skipif(bool(PG_URL), reason="migrates a private SQLite file")
def test_migration_015_carries_old_approvals_over_as_legacy(tmp_path):
    """Approvals recorded by the requester become decided, legacy requests; jobs still waiting
    go to their approvers' queues; old decorations take the corrected order."""
    from app import create_app
    from models.estate import Estate
    from models.org import Department
    from models.printing import PrintJob

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/old.db", "SECRET_KEY": "x"})
    with app.app_context(), db.connection_context():
        router = models.router()
        router.run("013_department_supervisor")
        # Raw SQL for the branch: today's model knows newer columns (migration 020).
        db.execute_sql("INSERT INTO branch (created_at, updated_at, version, name,"
                       " general_manager, phone) VALUES ('2025-01-01 00:00:00',"
                       " '2025-01-01 00:00:00', 1, '分公司', '', '')")
        branch = db.execute_sql("SELECT id FROM branch").fetchone()[0]
        estate = Estate.create(branch=branch, code="OLD", name="老小区")
        department = Department.create(estate=estate, kind="cs", name="客服部")
        now = utcnow().replace(tzinfo=None)
        for name, role in (("clerk", "clerk"), ("boss", "supervisor")):
            db.execute_sql(
                "INSERT INTO app_user (created_at, updated_at, version, username, display_name,"
                " password_hash, role, dept_supervisor, phone, active, can_reveal_id,"
                " session_generation) VALUES (?, ?, 1, ?, ?, '!', ?, 0, '', 1, 0, 0)",
                (now, now, name, name, role))
        clerk_id, boss_id = (db.execute_sql("SELECT id FROM app_user WHERE username = ?",
                                            (n,)).fetchone()[0] for n in ("clerk", "boss"))
        common = {"estate": estate.id, "department": department.id, "copies": 1, "pages": 1,
                  "total_pages": 1, "requested_by": clerk_id, "requested_at": ago(hours=3),
                  "created_by": clerk_id}
        PrintJob.insert(title="旧的已批准", number="DY-1", state="approved",
                        approved_by=boss_id, approved_at=ago(hours=2), **common).execute()
        waiting = PrintJob.insert(title="旧的待审批", number="DY-2", state="requested",
                                  **common).execute()
        router.run()
        rows = {r.row_id: r for r in ApprovalRequest.select()}
        assert len(rows) == 2
        legacy = next(r for r in rows.values() if r.row_id != waiting)
        assert (legacy.state, legacy.how, legacy.decided_by_id, legacy.requested_by_id) == (
            "approved", "legacy", boss_id, clerk_id)
        assert "旧记录" in legacy.note and legacy.rule == "dept:cs"
        assert (rows[waiting].state, rows[waiting].how) == ("pending", None)
        assert User.get_by_id(boss_id).approval_pin_hash == ""
        assert office_day()  # the app's clock still answers on the upgraded database
