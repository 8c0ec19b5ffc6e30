"""Decoration patrols on the phone page (装修巡查, issue #16): /m/patrols/.

The works to patrol in the user's estates, least recently patrolled first (超期 when past
JOBS_DECORATION_PATROL_DAYS), and the patrol form: findings, violations, follow-up (限期整改 or
申请扣押金) and photos, posted once per key like the work-order forms (views/static/field.js).
The rules are in models/patrols.py; the photos are the patrol register's declared attachment
kind (views/patrols.py).
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from jobs.rules import days_setting
from models.base import RuleError, utcnow
from models.decoration import Decoration
from models.patrols import (
    DEFAULT_PATROL_DAYS,
    FOLLOW_UPS,
    PATROLLED_STATES,
    VIOLATIONS,
    record_patrol,
    require_patrol_kind,
    under_works,
)
from models.steps import gather
from models.storage import StorageError
from views.attachments import check_uploads
from views.field import _wants_json, bp
from views.forms import refused_form_rules
from views.patrols import DecorationPatrolAdmin


def _decoration_or_404(decoration_id: int) -> Decoration:
    decoration = Decoration.get_or_none(Decoration.id == decoration_id,
                                        Decoration.voided == False,  # noqa: E712
                                        Decoration.estate.in_(current_user.estate_ids()),
                                        Decoration.state.in_(PATROLLED_STATES))
    if decoration is None:
        abort(404)
    return decoration


@bp.get("/patrols/")
def patrols():
    """装修巡查: the works under way, least recently patrolled first."""
    days = days_setting("JOBS_DECORATION_PATROL_DAYS", DEFAULT_PATROL_DAYS)
    since = utcnow() - dt.timedelta(days=days)
    rows = list(under_works(current_user.estate_ids()).limit(200))
    items = [{"row": row, "last": row.last_patrol,
              "late": (row.last_patrol or row.permit_issued_at or utcnow()) < since}
             for row in rows]
    return render_template("field/patrols.html", items=items, days=days)


def _render(decoration, errors=None, status=200):
    return render_template("field/patrol.html", decoration=decoration, errors=errors or {},
                           violations=VIOLATIONS, follow_ups=FOLLOW_UPS,
                           kind=DecorationPatrolAdmin.attachment_kinds[0],
                           key=secrets.token_urlsafe(24), form=request.form), status


@bp.get("/patrols/<int:decoration_id>")
def patrol(decoration_id: int):
    """登记巡查 for one decoration."""
    return _render(_decoration_or_404(decoration_id))


@bp.post("/patrols/<int:decoration_id>")
def record(decoration_id: int):
    """Save the patrol with its photos (once per key)."""
    decoration = _decoration_or_404(decoration_id)
    user = current_user._get_current_object()
    form = request.form
    try:
        require_patrol_kind(user)
        files = check_uploads(DecorationPatrolAdmin.attachment_kinds[0],
                              request.files.getlist("photos"), field="photos")
        errors = {}
        values = {"findings": form.get("findings", "").strip(),
                  "violations": form.getlist("violations"),
                  "follow_up": form.get("follow_up", "none"),
                  "rectify_by": gather(errors, _date, form.get("rectify_by")),
                  "deduction_amount": form.get("deduction_amount") or None}
        if errors:  # a malformed date with the patrol's own rules, at once (#12 item 3)
            rules = refused_form_rules(lambda: record_patrol(user, decoration, **values))
            raise RuleError({**rules, **errors})
        record_patrol(user, decoration, key=form.get("key", ""), files=files, **values)
    except RuleError as error:
        errors: dict[str, list[str]] = {}
        for name, message in error.errors.items():
            errors.setdefault(name or "", []).append(message)
        # The photos' store failing is no fault of the form: 503, to be retried as it is.
        status = 503 if isinstance(error, StorageError) else 400
        if _wants_json():
            return jsonify({"ok": False, "errors": errors}), status
        return _render(decoration, errors, status)
    message = gettext("%(number)s 巡查已登记", number=decoration.number)
    flash(message, "success")
    target = url_for("field.patrols")
    if _wants_json():
        return jsonify({"ok": True, "message": message, "redirect": target})
    return redirect(target)


def _date(text: str | None):
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RuleError({"rectify_by": gettext("整改期限格式应为 年-月-日")}) from None
