"""分析与总结 (R-DEM-10): the monthly review of demands, filterable by estate and month."""

from __future__ import annotations

import datetime as dt

import tablib
from flask import Response, request
from flask_admin import expose
from flask_login import current_user

from models.base import office_tz, to_office, utcnow
from models.i18n import L_, office_text
from models.register import audit
from models.review import monthly_review
from models.users import MANAGERS
from views.base import SecurePage

RATES = (
    ("on_time_rate", L_("按时答复率"), "replied"),
    ("callback_rate", L_("回访率"), "handled"),
    ("satisfaction_rate", L_("满意率"), "callbacks"),
    ("reopen_rate", L_("重新处理率"), "total"),
)


def month_bounds(text: str | None) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The office-local month named YYYY-MM (default: this month) as [start, end) moments."""
    today = to_office(utcnow()).date()
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        first = dt.date(year, month, 1)
    except ValueError:
        first = today.replace(day=1)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=office_tz())
    end = dt.datetime.combine(following, dt.time(), tzinfo=office_tz())
    return first, start, end


class ReviewView(SecurePage):
    """Monthly summary: by category, channel, department; on-time, callback, satisfaction and
    reopen rates."""

    roles = MANAGERS | {"viewer"}

    def _selection(self):
        estates = list(current_user.estates())
        chosen = request.args.get("estate", type=int)
        ids = [e.id for e in estates if chosen in (None, e.id)] or [e.id for e in estates]
        first, start, end = month_bounds(request.args.get("month"))
        return estates, ids, chosen, first, start, end

    @expose("/")
    def index(self):
        estates, ids, chosen, first, start, end = self._selection()
        review = monthly_review(ids, start, end) if ids else None
        return self.render("admin/review.html", review=review, estates=estates, chosen=chosen,
                           month=first.strftime("%Y-%m"), rates=RATES)

    @expose("/export/<kind>/")
    def export(self, kind: str):
        """Download the month's review as CSV or XLSX (audited like every export)."""
        if kind not in ("csv", "xlsx"):
            kind = "csv"
        estates, ids, chosen, first, start, end = self._selection()
        review = monthly_review(ids, start, end)
        data = tablib.Dataset(headers=["分组", "项目", "数量"])
        data.append(["总计", "受理", review["total"]])
        for key, label in (("by_category", L_("类别")), ("by_channel", L_("渠道")),
                           ("by_kind", L_("类型")), ("by_department", L_("责任部门"))):
            for name, count in review[key]:
                data.append([office_text(label), name, count])
        for key, label, _base in RATES:
            rate = review[key]
            data.append(["比率", office_text(label), "" if rate is None else f"{rate}%"])
        for estate_id in ids or [None]:  # each estate's review belongs to it (#11 item 7)
            audit(current_user._get_current_object(), "export", table="demand",
                  estate_id=estate_id,
                  changes={"month": first.strftime("%Y-%m"), "estates": ids},
                  summary=f"导出 {first:%Y-%m} 需求分析")
        name = f"demand-review-{first:%Y-%m}.{kind}"
        if kind == "csv":
            body, mimetype = "\ufeff" + data.export("csv"), "text/csv"
        else:
            body = data.export("xlsx")
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": f"attachment; filename={name}"})
