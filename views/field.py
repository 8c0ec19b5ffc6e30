"""The phone page for department staff (手机工单, issue #16): 我的工单 and one order.

Same app, same login, a page of its own (no Flask-Admin: a phone needs big buttons and little
weight). Department staff see their department's open orders in their estates (R-REC-4; the
filter is in models/field.py, not borrowed from the admin grids), most urgent first, with the
owner's tap-to-call phone; on one order they record 到场 and 完工 with result, materials, cost,
before/after photos and the owner's signature. The rules are the work order's own
(`WorkOrder.record_arrival`, `WorkOrder.complete`); the files go through the attachment
mechanism declared on the work-order register (`WorkOrderAdmin.attachment_kinds`).

Every post carries a key made when its page was shown (models.field.Submission): the page's
script retries a failed upload with the same key, so nothing is saved twice. The script is
views/static/field.js (no inline script: the Content-Security-Policy forbids it); without it the
forms still post as plain forms.
"""

from __future__ import annotations

import re
import secrets

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from jobs.flags import flagged_ids
from models.attachments import Attachment
from models.base import RuleError, StaleRecordError, utcnow
from models.demands import Demand
from models.field import (
    FieldVisit,
    arrive_once,
    colleagues,
    complete_with_files,
    deadline_of,
    field_orders,
    orders_for,
    reassign,
)
from models.storage import StorageError
from models.users import supervises
from models.work_orders import WorkOrder
from views.attachments import check_uploads
from views.fields import DESK_AND_DEPT
from views.form_bounds import parse_bounded_int
from views.work_orders import WorkOrderAdmin

bp = Blueprint("field", __name__, url_prefix="/m")

# Phones and WeChat's built-in browser: where `dept` users land after logging in.
PHONE_RE = re.compile(r"Mobile|Android|iPhone|iPod|MicroMessenger|HarmonyOS|Windows Phone")
# The form fields that carry files, each a kind declared on the work-order register.
FILE_FIELDS = ("before", "after", "signature")


def is_phone(user_agent: str | None) -> bool:
    return bool(user_agent) and PHONE_RE.search(user_agent) is not None


def landing_for(user, user_agent: str | None) -> str | None:
    """The phone page for department staff on a phone; None: the usual admin home."""
    if user.role == "dept" and is_phone(user_agent):
        return url_for("field.orders")
    return None


@bp.before_request
def _staff_only():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in DESK_AND_DEPT:
        abort(403)
    return None


def _user():
    return current_user._get_current_object()


def _order_or_404(order_id: int) -> WorkOrder:
    """The order, if the user's phone page may open it (their department, their estates)."""
    order = orders_for(_user()).where(WorkOrder.id == order_id).first()
    if order is None:
        abort(404)
    return order


def _kind(name: str):
    return next(k for k in WorkOrderAdmin.attachment_kinds if k.name == name)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _answer(order, message: str):
    """Success: JSON for the page's script, a redirect with a banner for a plain post."""
    target = url_for("field.order", order_id=order.id)
    flash(message, "success")  # shown on the order's page, where the script goes next
    if _wants_json():
        return jsonify({"ok": True, "message": message, "redirect": target})
    return redirect(target)


def _refused(order, error: RuleError, status: int = 400):
    errors: dict[str, list[str]] = {}
    for name, message in error.errors.items():
        errors.setdefault(name or "", []).append(message)
    if _wants_json():
        return jsonify({"ok": False, "errors": errors}), status
    return _render_order(order, errors=errors, status=status)


@bp.get("/")
def orders():
    """我的工单: my department's open work orders, most urgent first."""
    user = _user()
    rows = field_orders(user, 200)
    previous = FieldVisit.look(user)
    late = flagged_ids(WorkOrder, ids=[row.id for row in rows])
    now = utcnow()
    items = []
    for row in rows:
        deadline = deadline_of(row, row.reply_due)
        items.append({"row": row, "deadline": deadline,
                      "overdue": row.id in late or deadline < now,
                      "new": previous is not None and row.dispatched_at > previous})
    return render_template("field/orders.html", items=items, count=len(items))


def _render_order(order, *, errors=None, status: int = 200):
    demand = Demand.get_by_id(order.demand_id) if order.demand_id else None
    files = list(Attachment.of(order))
    owner_photos = list(Attachment.of(demand, ["owner"])) if demand is not None else []
    department = order.department
    return render_template(
        "field/order.html", order=order, demand=demand, errors=errors or {},
        before=[f for f in files if f.kind == "before"],
        after=[f for f in files if f.kind == "after"],
        signatures=[f for f in files if f.kind == "signature"], owner_photos=owner_photos,
        kinds={name: _kind(name) for name in FILE_FIELDS},
        key=secrets.token_urlsafe(24), form=request.form,
        can_reassign=supervises(_user(), department.kind) and order.state != "completed",
        people=list(colleagues(order)) if supervises(_user(), department.kind) else []), status


@bp.get("/order/<int:order_id>")
def order(order_id: int):
    """One order: what, where, the owner's words and photos; 到场 and 完工."""
    return _render_order(_order_or_404(order_id))


@bp.post("/order/<int:order_id>/arrive")
def arrive(order_id: int):
    """到场: the worker is on site."""
    order = _order_or_404(order_id)
    try:
        arrive_once(order, _user(), key=request.form.get("key", ""))
    except RuleError as error:
        return _refused(order, error, 409 if isinstance(error, StaleRecordError) else 400)
    return _answer(order, gettext("%(number)s 已登记到场", number=order.number))


@bp.post("/order/<int:order_id>/complete")
def complete(order_id: int):
    """完工: result, materials, cost, photos and the owner's signature, saved once."""
    order = _order_or_404(order_id)
    user = _user()
    try:
        files = []
        for name in FILE_FIELDS:
            files += check_uploads(_kind(name), request.files.getlist(name), field=name)
        complete_with_files(order, user, key=request.form.get("key", ""), files=files,
                            values={"result": request.form.get("result", ""),
                                    "materials": request.form.get("materials", "")[:200],
                                    "cost": request.form.get("cost", "")})
    except StorageError as error:  # the photos' store failed: nothing saved, page kept
        return _refused(order, error, 503)
    except RuleError as error:
        return _refused(order, error, 409 if isinstance(error, StaleRecordError) else 400)
    return _answer(order, gettext("%(number)s 已完工", number=order.number))


@bp.post("/order/<int:order_id>/reassign")
def reassign_order(order_id: int):
    """改派: a department supervisor hands the order to a colleague of the department."""
    order = _order_or_404(order_id)
    assignee = parse_bounded_int(request.form.get("assignee"))
    try:
        reassign(order, _user(), assignee)
    except RuleError as error:
        return _refused(order, error)
    return _answer(order, gettext("%(number)s 已改派", number=order.number))


# The patrol pages are routes of this blueprint too (registered before any app uses it).

from views import field_patrols  # noqa: E402,F401
