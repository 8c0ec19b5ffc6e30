"""SPEC's roles × registers × actions, on the demo data (issue #11 "Done when", R-REC-4).

The cases are built from the views' declared row actions (`RegisterView.row_actions`), so a new
action joins the matrix by being declared. Each case logs in as one demo account of the SPEC
roles table, POSTs the action's real form (with its CSRF token) on a demo row the action applies
to, and checks the database, not the status code: a forbidden action leaves no trace (no audit
row, the row's version unchanged); an allowed one is written.

Who may is the view's role permission for the action, the action's per-row check (a
department's own work, R-REC-4) and the SPEC rules the models enforce beyond roles (below).
The demo database is seeded once and restored after every case that wrote something.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from conftest import PG_URL, _config, login
from flask_login import login_user

import views
from app import create_app
from demo import DEMO_PASSWORD
from demo import seed as seed_demo
from models import approvals
from models.base import db, office_day, to_office, utcnow
from models.estate import Estate
from models.register import AuditLog
from models.roster import rostered
from models.users import MANAGERS, User, supervises
from views.actions import DESK_FIELDS, RegisterView

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the matrix restores a seeded SQLite file "
                                "between cases; the rules it checks are database-independent")

# One demo account per part of SPEC's roles table (客服员, 客服主管, 管理处主任, 系统管理员, each
# department, the 工程主管, and the read-only manager).
ROLES = ("clerk", "supervisor", "director", "admin", "security", "cleaning", "engineer",
         "enghead", "finance", "manager")

def _hand_over_receiver(user, row) -> bool:
    """The incoming shift's staff or a manager acknowledge a hand-over, never its writer."""
    if user.id == row.written_by_id:
        return False
    if user.role in MANAGERS or not row.incoming_shift_id:
        return True
    expected = rostered(row.estate_id, row.incoming_day, row.incoming_shift_id)
    return not expected or user.id in expected


# SPEC rules on who acts that the models enforce beyond the view's role permission:
# (view endpoint, action) -> (rule, predicate(user, row)).
FINANCE = ("R-DEP-1: finance collects, refunds and forfeits",
           lambda user, row: user.department == "finance")
SPEC_RULES = {
    ("deposit", "collect"): FINANCE,
    ("deposit", "refund"): FINANCE,
    ("deposit", "forfeit"): FINANCE,
    ("decoration", "sign"): ("R-DECO-2: the 工程主管 signs the tests",
                             lambda user, row: supervises(user, "engineering")),
    ("worker_pass", "issue"): ("R-REC-3: no card before finance has both payments",
                               lambda user, row: not row.unpaid()),
    ("shift_log", "ack"): ("R-SVC-1: the incoming shift acknowledges the hand-over",
                           _hand_over_receiver),
}

# Rows where an allowed action has something to work with (a case without one is skipped,
# saying so): (view endpoint, action) -> predicate(row).
PREFERRED_ROWS = {
    # Reassigning needs a department with people in it (客服 has no department staff).
    ("work_order", "reassign"): lambda row: row.department_kind == "engineering",
    ("hot_work", "close"): lambda row: row.work_from <= utcnow(),
    ("emergency", "close"): lambda row: not row.missing_for_close(),
    ("service_registration", "complete"): lambda row: (
        row.batch_id and row.batch.notice_at and row.batch.day <= office_day()),
    ("service_batch", "add"): lambda row: bool(_unscheduled(row)),
    # A demand waits for its open work orders (#11 item 1): rows without one.
    ("demand", "complete"): lambda row: not _open_orders(row),
    ("demand", "invalid"): lambda row: not _open_orders(row),
    # An order of a demand is called back on its demand (the demand's case covers it).
    ("work_order", "callback"): lambda row: row.demand_id is None,
}


def _open_orders(demand) -> bool:
    from models.work_orders import WorkOrder

    return WorkOrder.select().where(WorkOrder.demand == demand.id, WorkOrder.state != "completed",
                                    WorkOrder.voided == False).exists()  # noqa: E712


def _unscheduled(batch) -> list[int]:
    from models.batches import ServiceRegistration

    return [r.id for r in ServiceRegistration.select().where(
        ServiceRegistration.estate == batch.estate_id, ServiceRegistration.kind == batch.kind,
        ServiceRegistration.batch.is_null(), ServiceRegistration.voided == False)]  # noqa: E712


def _kept_receipt(key_set) -> str:
    from models.keys import KeyMovement

    movement = (key_set.movements.where(KeyMovement.kind == "keep")
                .order_by(KeyMovement.id.desc()).first())
    return movement.number if movement else ""


# Values a generic filler cannot guess: (view endpoint, action) -> callable(row) -> values.
FILLS = {
    ("key_set", "lend"): lambda row: {"borrower_type": "owner", "expected_return": (
        to_office(utcnow() + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))},
    ("key_set", "collect"): lambda row: {"receipt_number": _kept_receipt(row)},
    ("deposit", "refund"): lambda row: {"to": "业主本人", "amount": str(row.amount)},
    ("work_order", "complete"): lambda row: {"cost": "12.50"},
    ("move_in", "step"): lambda row: {"keys_count": "2", "property_fee": "100.00",
                                      "maintenance_fund": "200.00"},
    ("committee_contact", "item"): lambda row: {"unit_code": ""},
    ("demand", "dispatch"): lambda row: {"assignee": "0"},
    ("decoration", "tests"): lambda row: {"water_passed": "1", "pressure_passed": "1",
                                          "owner_confirmed_name": row.owner_name},
    ("decoration", "accept"): lambda row: {"passed": "1", "rectify_by": ""},
    # A re-approval needs a real change of the dates (#11 item 5).
    ("decoration", "dates"): lambda row: {"works_end": str(row.works_end
                                                           + dt.timedelta(days=7))},
    ("service_batch", "add"): lambda row: {"registrations": [str(i) for i in
                                                             _unscheduled(row)[:1]]},
    # 改派 hands the order to someone else of its department (the same person is refused).
    ("work_order", "reassign"): lambda row: {"assignee_id": _other_worker(row)},
}


def _other_worker(row) -> str:
    from views.fields import department_staff_choices

    others = [str(c.value) for c in department_staff_choices(row.estate_id, row.department_kind)
              if c.value and c.value != row.assignee_id]
    return others[0] if others else ""


def _register_views():
    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    seen = set()
    for cls in walk(RegisterView):
        # A base with subclasses (PassAdmin) is not a registered grid; its subclasses are.
        if cls.row_actions and cls not in seen and not cls.__subclasses__():
            seen.add(cls)
            yield cls


def _cases():
    assert views  # imported above so every register view class exists when cases are built
    for cls in sorted(_register_views(), key=lambda c: c.__name__):
        for action in cls.row_actions:
            if action.target:  # a button opening another action: covered by that action
                continue
            for role in ROLES:
                yield pytest.param(cls, action.name, role,
                                   id=f"{cls.__name__}-{action.name}-{role}")


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, template_db):
    """The demo estate seeded once; `restore()` puts the pristine file back."""
    folder = tmp_path_factory.mktemp("matrix")
    path, pristine = folder / "desk.db", folder / "pristine.db"
    shutil.copy(template_db, path)
    app = create_app(_config(f"sqlite:///{path}"))
    app.instance_path = str(folder / "instance")
    with app.app_context():
        seed_demo(units=120, seed=7)
    db.close()
    shutil.copy(path, pristine)

    def restore():
        db.close()
        for suffix in ("-wal", "-shm"):
            (folder / f"desk.db{suffix}").unlink(missing_ok=True)
        shutil.copy(pristine, path)

    clients = {}

    def client_for(username):
        if username not in clients:
            client = app.test_client()
            assert login(client, username, DEMO_PASSWORD).status_code == 302
            clients[username] = client
        return clients[username]

    yield app, restore, client_for
    db.close()


def _view_of(app, cls):
    admin = app.extensions["admin"][0]
    return next(v for v in admin._views if type(v) is cls)


def _target(view, action, user):
    """A demo row the action applies to, one this user would be allowed to act on if any."""
    model = view.model
    estate = Estate.get(Estate.code == "DEMO")
    query = model.select().where(model.estate == estate.id).order_by(model.id)
    if "voided" in model._meta.fields:
        query = query.where(model.voided == False)  # noqa: E712
    rows = [row for row in query.limit(500) if action.applies_to(row, view.state_field)]
    if not rows:
        return None
    preferred = PREFERRED_ROWS.get((view.endpoint, action.name), lambda row: True)
    rows = [row for row in rows if preferred(row)]
    if not rows:
        return None
    return next((row for row in rows if action.allows(row, user)), rows[0])


def _expected(app, view, action, user, row) -> bool:
    with app.test_request_context():
        login_user(user)
        if not view.allowed(action.permission):  # the view's own permission check
            return False
        # A row outside what the user may see (another department's, R-REC-4) is not theirs.
        if not view.scoped_query().where(type(row).id == row.id).exists():
            return False
    if not action.allows(row, user):
        return False
    rule = SPEC_RULES.get((view.endpoint, action.name))
    return rule is None or rule[1](user, row)


def _waits_for_approval(view, action, user, row, data) -> bool:
    """Whether the step, asked by this user, only queues a request (R-REC-2): it needs an
    approval with these values and the user is not one who may give it."""
    if not action.approval:
        return False
    values = {k: v for k, v in data.items() if k not in DESK_FIELDS}
    try:
        needed = approvals.needs_approval(row, action.approval, values)
    except Exception:  # values as posted are not the form's typed data: ask the strict way
        needed = True
    requester = approvals.requester_of(row, action.approval, user)
    return needed and not approvals.may_approve(user, row, action.approval, requester=requester)


def _form_values(html: str) -> dict:
    """Every field of the action form, filled as a diligent clerk would."""
    forms = re.findall(r"<form[^>]*>(.*?)</form>", html, re.S | re.I)
    # The action's own form carries the row's version (the page also has the logout form).
    body = next((f for f in forms if 'name="row_version"' in f), max(forms, key=len, default=html))
    data = {}
    for tag in re.finditer(r"<input[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag.group(0))
        if not name or 'type="submit"' in tag.group(0):
            continue
        value = re.search(r'value="([^"]*)"', tag.group(0))
        value = value.group(1) if value else ""
        if 'type="checkbox"' in tag.group(0):
            value = "y"
        elif 'type="radio"' in tag.group(0):
            if name.group(1) in data:
                continue  # the first choice of a radio group
        elif 'type="file"' in tag.group(0):
            continue
        elif name.group(1) in DESK_FIELDS:
            value = ""  # nobody stands beside the clerk: the request goes to the queue
        elif not value and 'type="hidden"' not in tag.group(0):
            value = _guess(name.group(1))
        data[name.group(1)] = value
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        options = re.findall(r'<option[^>]*value="([^"]*)"', select.group(2))
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|'
                           r'<option[^>]*value="([^"]*)"[^>]*selected', select.group(2))
        value = next((g for g in chosen.groups() if g is not None), "") if chosen else ""
        if value in ("", "0", "__None"):
            value = next((o for o in options if o not in ("", "0", "__None")), value)
        data[select.group(1)] = value
    for area in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        data[area.group(1)] = area.group(2).strip() or "按规定办理，情况良好"
    return data


def _guess(name: str) -> str:
    if name == "at" or name.endswith(("_at", "_on", "_by_date")) or name in ("on", "rectify_by"):
        return ""  # a moment or day left empty means now / today
    if "count" in name or name in ("copies", "pages"):
        return "1"
    if any(word in name for word in ("amount", "fee", "fund", "cost")):
        return "1.00"
    if "phone" in name:
        return "13800138000"
    return "按规定办理"


def _trace():
    return AuditLog.select(AuditLog.id).order_by(AuditLog.id.desc()).scalar() or 0


@pytest.mark.parametrize("view_class, action_name, role", list(_cases()))
def test_role_may_do_only_what_spec_gives_it(demo_site, view_class, action_name, role):
    app, restore, client_for = demo_site
    view = _view_of(app, view_class)
    action = next(a for a in view.row_actions if a.name == action_name)
    user = User.get(User.username == role)
    row = _target(view, action, user)
    if row is None:
        pytest.skip(f"the demo has no {view.endpoint} row {action.name} applies to now")
    expected = _expected(app, view, action, user, row)
    url = f"/admin/{view.endpoint}/{action.url or action.name}/?id={row.id}"
    client = client_for(role)
    data = {}
    if action.form is not None:
        # The real form as a permitted person sees it (the forbidden get it from them too).
        filler = next((client_for(r) for r in (role, *ROLES)
                       if client_for(r).get(url).status_code == 200), None)
        if filler is None:
            pytest.skip(f"nobody of the demo accounts may open {url}")
        data = _form_values(filler.get(url).get_data(as_text=True))
        fill = FILLS.get((view.endpoint, action.name))
        data.update(fill(row) if fill else {})
    data["row_version"] = str(row.version)
    token_page = client.get(f"/admin/{view.endpoint}/details/?id={row.id}")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page.get_data(as_text=True)
                      ) if token_page.status_code == 200 else None
    if token is None:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                          client.get("/admin/").get_data(as_text=True))
    before, version = _trace(), row.version
    waits = expected and _waits_for_approval(view, action, user, row, data)
    response = client.post(url, data={**data, "csrf_token": token.group(1)})
    after = _trace()
    stored = type(row).get_by_id(row.id)
    try:
        if waits:
            # Asked, not done: the row is unchanged until its approver acts (R-REC-2).
            assert stored.version == version, (
                f"{role}'s {action.name} on {view.endpoint} took effect before its approval")
            assert response.status_code in (200, 302)
        elif expected:
            assert after > before and response.status_code == 302, (
                f"{role} may {action.name} on {view.endpoint} but nothing was written: "
                f"{response.status_code} {_errors(response)}")
        else:
            assert after == before and stored.version == version, (
                f"{role} must not {action.name} on {view.endpoint}, yet it was written")
            assert response.status_code in (200, 302, 403, 404)
    finally:
        if after != before:
            restore()


def _errors(response) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(r'invalid-feedback[^>]*>\s*(?:<ul[^>]*>\s*<li>)?([^<]+)<', html) + \
        re.findall(r'alert-danger[^>]*>\s*(?:<button[^>]*>[^<]*</button>)?\s*([^<]+)<', html)
