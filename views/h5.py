"""The owners' H5 (业主自助, issue #17): mobile pages under /h5, separate from the staff login.

An owner signs in with a mobile number registered as a resident and a one-time SMS code
(models/owners.py), then sees only the units that number is registered to: 报事报修/投诉/建议
become demands with channel 业主自助 through the same `save_record` the desk uses (numbered,
with the R-DEM-7 deadline shown at once); 我的报修 shows each demand's progress in plain words,
the reply and the result, and after completion takes the owner's rating — "not satisfied"
reopens the demand exactly as the desk's callback does (R-DEM-9).

The pages get the app's CSP and CSRF; the owner's identity is its own session key, never the
staff login's. No page shows staff names or other units' rows: a demand of another unit is 404.

A report takes up to `MAX_PHOTOS` photos, kept with the demand through the attachment mechanism
as the desk's "业主照片" (`DemandAdmin.attachment_kinds`: checked, re-encoded, EXIF stripped,
size-limited; downscaled on the phone first by views/static/photos.js). They are checked before
anything is written and kept in the demand's own transaction: a refused photo saves nothing.
The owner sees them on 我的报修, served by this blueprint only for the owner's own demands.

Signed-in owners also read their estate's convenience-service guide (R-GUIDE-1) and its notices:
the desk's 公告 and the batch services announced to them (R-JOB-1/2), views/h5_info.py.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext

from jobs.outbox import send_now
from models.attachments import Attachment, attach
from models.base import RuleError, to_office, utcnow, write_transaction
from models.callbacks import OWNER_RATING, call_back_demand
from models.demands import CATEGORIES, Demand
from models.i18n import L_
from models.org import Unit
from models.owners import CODE_SENT, owner_unit_ids, request_code, residents_of, verify_code
from models.register import save_record
from models.steps import gather
from models.storage import StorageError
from models.work_orders import WorkOrder
from views.attachments import check_uploads, serve_attachment
from views.demands import DemandAdmin
from views.form_bounds import parse_bounded_int

bp = Blueprint("h5", __name__, url_prefix="/h5")

OWNER_KINDS = [("help", L_("报事报修")), ("complaint", L_("投诉")), ("suggestion", L_("建议"))]
PROGRESS = (L_("已受理"), L_("已派工"), L_("处理中"), L_("已完成"), L_("已回访"))
SCORE_FIELDS = (("on_time", L_("准时到场")), ("attitude", L_("服务态度")),
                ("skill", L_("维修技能")),
                ("etiquette", L_("礼节礼貌")))
SESSION_KEY = "h5_owner"
# Photos an owner may add to one report (issue #17), kept as the desk's 业主照片.
MAX_PHOTOS = 4
PHOTO_KIND = next(k for k in DemandAdmin.attachment_kinds if k.name == "owner")


def owner_phone() -> str | None:
    """The signed-in owner's number, if the sign-in is recent and the number still a resident's."""
    owner = session.get(SESSION_KEY)
    if not owner:
        return None
    days = int(current_app.config.get("H5_SESSION_DAYS", 7))
    since = dt.datetime.fromisoformat(owner["since"])
    if utcnow() - since > dt.timedelta(days=days) or not residents_of(owner["phone"]).exists():
        session.pop(SESSION_KEY, None)
        return None
    return owner["phone"]


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        phone = owner_phone()
        if phone is None:
            return redirect(url_for("h5.login"))
        return view(phone, *args, **kwargs)

    return wrapper


def address() -> str:
    return request.remote_addr or "-"


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Ask for a code: the same answer whether or not the number is registered."""
    errors = {}
    if request.method == "POST":
        phone = request.form.get("phone", "")
        try:
            message = request_code(phone, address())
        except RuleError as error:
            errors = error.errors
        else:
            session["h5_pending"] = phone.strip()[:20]
            flash(gettext(CODE_SENT), "info")
            response = redirect(url_for("h5.verify"))
            if message is not None:
                # Sent after the answer has gone out: registered or not, it answers as fast.
                app = current_app._get_current_object()
                response.call_on_close(lambda: send_now(app, message.id))
            return response
    return render_template("h5/login.html", errors=errors)


@bp.route("/verify", methods=("GET", "POST"))
def verify():
    """Check the code; the owner is signed in to the H5 only (never to the staff desk)."""
    phone = session.get("h5_pending")
    if not phone:
        return redirect(url_for("h5.login"))
    errors = {}
    if request.method == "POST":
        try:
            number = verify_code(phone, request.form.get("code", ""), address())
        except RuleError as error:
            errors = error.errors
        else:
            session.pop("h5_pending", None)
            session[SESSION_KEY] = {"phone": number, "since": utcnow().isoformat()}
            return redirect(url_for("h5.home"))
    return render_template("h5/verify.html", errors=errors, masked=phone[:3] + "****"
                           + phone[-4:])


@bp.route("/logout", methods=("POST",))
def logout():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("h5.login"))


def my_units(phone: str):
    return list(Unit.select().where(Unit.id.in_(owner_unit_ids(phone))).order_by(Unit.code))


def my_demand_or_404(phone: str, demand_id: int) -> Demand:
    """A demand of one of the owner's units; anything else (another unit, voided) is 404."""
    demand = Demand.get_or_none(Demand.id == demand_id, Demand.voided == False)  # noqa: E712
    if demand is None or demand.unit_id not in owner_unit_ids(phone):
        abort(404)
    return demand


@bp.route("/")
@signed_in
def home(phone):
    return render_template("h5/home.html", units=my_units(phone))


@bp.route("/new", methods=("GET", "POST"))
@signed_in
def new_demand(phone):
    """报事报修/投诉/建议: a demand with channel 业主自助, numbered, with its deadline."""
    units = my_units(phone)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            demand = _create(phone, units, form, request.files.getlist("photos"))
        except StorageError as error:
            errors = {"photos": str(error)}
        except RuleError as error:
            errors = error.errors
        else:
            due = to_office(demand.reply_due)
            flash(gettext("已受理，编号 %(number)s，我们将在 %(month)s月%(day)s日 %(time)s 前答复"
                          "您。",
                          number=demand.number, month=f"{due:%m}", day=f"{due:%d}",
                          time=f"{due:%H:%M}"), "success")
            return redirect(url_for("h5.demand", demand_id=demand.id))
    return render_template("h5/new.html", units=units, kinds=OWNER_KINDS,
                           categories=CATEGORIES, errors=errors, form=form, kind=PHOTO_KIND,
                           max_photos=MAX_PHOTOS)


def _checked_photos(files):
    """The report's photos, checked before anything is written; RuleError next to the field."""
    chosen = [item for item in files if item is not None and getattr(item, "filename", "")]
    if len(chosen) > MAX_PHOTOS:
        raise RuleError({"photos": gettext("最多上传 %(most)s 张照片，您选择了 %(chosen)s 张",
                                           most=MAX_PHOTOS, chosen=len(chosen))})
    try:
        return check_uploads(PHOTO_KIND, chosen, field="photos")
    except RuleError as error:
        message = next(iter(error.errors.values()))
        raise RuleError({"photos": gettext("%(message)s（照片需重新选择）",
                                           message=message)}) from None


# The report form's fields, by the names its rule messages carry.
REPORT_FIELDS = ("unit", "kind", "category", "description", "requested_reply_at", "photos")


def _create(phone: str, units, form, files=()) -> Demand:
    """The owner's report as a demand; every problem of the form at once (#12 item 3)."""
    errors = {}
    unit = next((u for u in units if str(u.id) == form.get("unit")), None)
    if unit is None:
        errors["unit"] = gettext("请选择房屋")
    kind = form.get("kind")
    if kind not in dict(OWNER_KINDS):
        errors["kind"] = gettext("请选择类型")
    category = form.get("category")
    if category not in dict(CATEGORIES):
        errors["category"] = gettext("请选择类别")
    description = (form.get("description") or "").strip()
    if not description:
        errors["description"] = gettext("请描述您的问题或建议")
    elif len(description) > 1000:
        errors["description"] = gettext("内容不能超过 1000 个字")
    requested = gather(errors, _requested, form.get("requested"))
    photos = gather(errors, _checked_photos, files)
    demand = None
    if unit is not None:
        resident = residents_of(phone).where(Unit.id == unit.id).first()
        demand = Demand(estate=unit.estate_id, channel="owner_self", kind=kind,
                        category=category, unit=unit.id, resident=resident.id,
                        contact_name=resident.name, contact_phone=phone,
                        description=description, requested_reply_at=requested)
    if errors:
        if demand is not None:  # the demand's own rules (a requested time already past…)
            rules: dict[str, str] = {}
            gather(rules, demand.full_clean)
            for name in REPORT_FIELDS:
                if name in rules:
                    errors.setdefault(name, rules[name])
        raise RuleError(errors)
    limit = int(current_app.config.get("H5_DEMANDS_PER_DAY", 10))
    recent = Demand.select().where(Demand.channel == "owner_self", Demand.contact_phone == phone,
                                   Demand.received_at > utcnow() - dt.timedelta(days=1))
    if recent.count() >= limit:
        raise RuleError({"": gettext("每个号码每天最多提交 %(limit)s 条，请致电客服中心",
                                     limit=limit)})
    with write_transaction():
        save_record(demand, None)
        for photo_kind, checked in photos or ():
            attach(demand, None, photo_kind, checked)
    return demand


def _requested(text: str | None) -> dt.datetime | None:
    """The owner's requested reply time (a datetime-local input), office time."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RuleError({"requested_reply_at": gettext("请按“年-月-日 时:分”填写时间")}) from None
    return to_office(moment)


@bp.route("/demands")
@signed_in
def demands(phone):
    """我的报修: the owner's units' demands, newest first."""
    rows = list(Demand.select().where(Demand.unit.in_(owner_unit_ids(phone)),
                                      Demand.voided == False)  # noqa: E712
                .order_by(Demand.received_at.desc()).limit(50))
    return render_template("h5/demands.html", demands=rows, step=progress_step)


def progress_step(demand: Demand) -> int:
    """Where the demand is, as an index into PROGRESS (已受理 → … → 已回访)."""
    if demand.status == "closed":
        return 4 if list(demand.callbacks) else 3
    if demand.status == "completed":
        return 3
    if demand.status == "dispatched":
        arrived = WorkOrder.select().where(WorkOrder.demand == demand.id,
                                           WorkOrder.arrived_at.is_null(False)).exists()
        return 2 if arrived else 1
    return 0


def owner_photos(demand: Demand) -> list[Attachment]:
    return list(Attachment.of(demand, [PHOTO_KIND.name]))


def _render_demand(row: Demand, errors=None):
    return render_template("h5/demand.html", demand=row, progress=PROGRESS,
                           step=progress_step(row), scores=SCORE_FIELDS, errors=errors or {},
                           photos=owner_photos(row))


@bp.route("/demands/<int:demand_id>")
@signed_in
def demand(phone, demand_id):
    return _render_demand(my_demand_or_404(phone, demand_id))


@bp.route("/demands/<int:demand_id>/photos/<int:file_id>")
@signed_in
def photo(phone, demand_id, file_id):
    """One of the owner's photos of their own demand (another owner's: 404, never 403)."""
    row = my_demand_or_404(phone, demand_id)
    attachment = Attachment.get_or_none(Attachment.id == parse_bounded_int(str(file_id)),
                                        Attachment.table == row._meta.table_name,
                                        Attachment.row_id == row.id,
                                        Attachment.kind == PHOTO_KIND.name,
                                        Attachment.sensitive == False)  # noqa: E712
    if attachment is None:
        abort(404)
    return serve_attachment(attachment, thumb=request.args.get("thumb") == "1")


@bp.route("/demands/<int:demand_id>/rate", methods=("POST",))
@signed_in
def rate(phone, demand_id):
    """The owner's rating of completed work: not satisfied reopens it (R-DEM-9)."""
    row = my_demand_or_404(phone, demand_id)
    form = request.form
    try:
        scores = {name: _score(form.get(name), name) for name, _ in SCORE_FIELDS}
        if form.get("satisfied") not in ("1", "0"):
            raise RuleError({"satisfied": gettext("请选择是否满意")})
        call_back_demand(row, None, channel=OWNER_RATING[0], satisfied=form["satisfied"] == "1",
                         comments=(form.get("comments") or "").strip()[:200], **scores)
    except RuleError as error:
        return _render_demand(row, error.errors), 400
    flash(gettext("感谢您的评价，我们将重新处理") if form["satisfied"] == "0"
          else gettext("感谢您的评价"), "success")
    return redirect(url_for("h5.demand", demand_id=row.id))


def _score(value, name: str) -> int:
    if value not in ("1", "2", "3", "4", "5"):
        raise RuleError({name: gettext("请选择 1 到 5 分")})
    return int(value)


def init_app(app) -> None:
    app.register_blueprint(bp)


# The guide and notices pages are routes of this blueprint too (registered before any app uses it).
from views import h5_info  # noqa: E402,F401
