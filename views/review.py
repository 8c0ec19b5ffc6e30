"""分析与总结 (R-DEM-10): the monthly review of demands, filterable by estate and month, with
charts a director reads at a glance (#12 item 10) and a clean export (#12 item 4)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from flask import Response, request, stream_with_context
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from models.base import office_tz, to_office, utcnow
from models.i18n import office_language
from models.register import audit
from models.review import assessment, month_on_month, monthly_review
from models.users import MANAGERS
from models.validators.values import DATE_RANGE
from views.base import SecurePage
from views.charts import bar_chart, line_chart
from views.exports import XLSX_MIMETYPE, csv_chunks, xlsx_chunks
from views.i18n import N_

RATES = (
    ("on_time_rate", N_("按时答复率"), "replied"),
    ("callback_rate", N_("回访率"), "handled"),
    ("satisfaction_rate", N_("满意率"), "callbacks"),
    ("reopen_rate", N_("重新处理率"), "total"),
)
GROUPS = (("by_category", N_("按类别")), ("by_channel", N_("按渠道")), ("by_kind", N_("按类型")),
          ("by_department", N_("按责任部门")))
# How many months the month-on-month chart shows, ending with the chosen one.
TREND_MONTHS = 6
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def parse_month(text: str | None) -> tuple[dt.date, str]:
    """The first day of the office-local month named YYYY-MM, and a message for the month
    field when the text names no month the office keeps (then this month is shown instead:
    #12 item 7, `?month=9999-12` answered 500)."""
    today = to_office(utcnow()).date().replace(day=1)
    if not text:
        return today, ""
    match = _MONTH.fullmatch(text.strip())
    low, high = DATE_RANGE
    if not match or not 1 <= int(match.group(2)) <= 12:
        return today, gettext("请按 年-月 填写月份，如 2026-11")
    first = dt.date(int(match.group(1)), int(match.group(2)), 1)
    if not low <= first <= high:
        return today, gettext("月份应在 %(low)s 至 %(high)s 之间",
                              low=f"{low:%Y-%m}", high=f"{high:%Y-%m}")
    return first, ""


def month_span(first: dt.date) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The month starting on `first` as [start, end) office-local moments."""
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=office_tz())
    end = dt.datetime.combine(following, dt.time(), tzinfo=office_tz())
    return first, start, end


def months_ending(first: dt.date, count: int) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """`count` months ending with the one starting on `first`, oldest first, within range."""
    months, month = [], first
    for _ in range(count):
        months.append(month_span(month))
        if month <= DATE_RANGE[0]:
            break
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


def review_charts(review: dict, trend: list[dict], assessed: dict) -> dict:
    """The review's pictures, as inline SVG (views/charts.py)."""
    labels = [f"{m['month']:%Y-%m}" for m in trend]
    charts = {"trend": line_chart(
        gettext("按时答复率与满意率（逐月）"), labels,
        [(gettext("按时答复率"), [m["on_time_rate"] for m in trend]),
         (gettext("满意率"), [m["satisfaction_rate"] for m in trend])]),
        "volume": bar_chart(gettext("受理量（逐月）"),
                            [(label, m["total"]) for label, m in zip(labels, trend, strict=True)],
                            unit=gettext("件"))}
    for key, label in GROUPS:
        charts[key] = bar_chart(gettext(label), review[key], unit=gettext("件"))
    charts["dept_on_time"] = bar_chart(
        gettext("各部门按时答复率"),
        [(d["name"], d["on_time_rate"]) for d in assessed["departments"]],
        unit="%", maximum=100)
    charts["worker_satisfaction"] = bar_chart(
        gettext("各维修人员满意率"),
        [(w["name"], w["satisfaction_rate"]) for w in assessed["workers"]],
        unit="%", maximum=100)
    return charts


class ReviewView(SecurePage):
    """Monthly summary: by category, channel, department; on-time, callback, satisfaction and
    reopen rates; month-on-month charts and the assessment per department and worker."""

    roles = MANAGERS | {"viewer"}

    def _selection(self):
        estates = list(current_user.estates())
        chosen = request.args.get("estate", type=int)
        ids = [e.id for e in estates if chosen in (None, e.id)] or [e.id for e in estates]
        first, error = parse_month(request.args.get("month"))
        return estates, ids, chosen, error, *month_span(first)

    @expose("/")
    def index(self):
        estates, ids, chosen, error, first, start, end = self._selection()
        review = charts = assessed = trend = None
        if ids:
            review = monthly_review(ids, start, end)
            trend = month_on_month(ids, months_ending(first, TREND_MONTHS))
            assessed = assessment(ids, start, end)
            charts = review_charts(review, trend, assessed)
        return self.render("admin/review.html", review=review, estates=estates, chosen=chosen,
                           month=first.strftime("%Y-%m"), month_error=error, rates=RATES,
                           groups=GROUPS, charts=charts, assessed=assessed, trend=trend)

    @expose("/export/<kind>/")
    def export(self, kind: str):
        """Download the month's review as CSV or XLSX (audited like every export; every cell
        cleaned and neutralised as in the registers' exports, #12 item 4)."""
        if kind not in ("csv", "xlsx"):
            kind = "csv"
        estates, ids, chosen, _error, first, start, end = self._selection()
        review = monthly_review(ids, start, end)
        with office_language():  # the file is kept by the office: in its language (#12 item 2)
            assessed = assessment(ids, start, end)
            rows = [[gettext("总计"), gettext("受理"), review["total"]]]
            for key, label in GROUPS:
                rows.extend([gettext(label), name, count] for name, count in review[key])
            for key, label, _base in RATES:
                rate = review[key]
                rows.append([gettext("比率"), gettext(label), "" if rate is None else f"{rate}%"])
            for group, people in ((gettext("部门考核"), assessed["departments"]),
                                  (gettext("维修人员考核"), assessed["workers"])):
                for row in people:
                    rows.append([group, row["name"],
                                 gettext("受理 %(total)s，完成 %(completed)s，按时答复率 "
                                         "%(on_time)s，满意率 %(satisfied)s", total=row["total"],
                                         completed=row["completed"],
                                         on_time=_percent(row["on_time_rate"]),
                                         satisfied=_percent(row["satisfaction_rate"]))])
            headers = [gettext("分组"), gettext("项目"), gettext("数量")]
            title = gettext("需求分析")
        for estate_id in ids or [None]:  # each estate's review belongs to it (#11 item 7)
            audit(current_user._get_current_object(), "export", table="demand",
                  estate_id=estate_id,
                  changes={"month": first.strftime("%Y-%m"), "estates": ids},
                  summary=f"导出 {first:%Y-%m} 需求分析")
        codes = [e.code for e in estates if e.id in ids]
        place = "-".join(codes) if 0 < len(codes) <= 3 else gettext("全部小区")
        stamp = to_office(utcnow()).strftime("%Y%m%d-%H%M")
        name = re.sub(r'[\\/:*?"<>|\s]+', "-", f"{title}{first:%Y-%m}_{place}_{stamp}.{kind}")
        fallback = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"review-{first:%Y-%m}_{stamp}.{kind}")
        if kind == "csv":
            body, mimetype = csv_chunks(headers, rows), "text/csv; charset=utf-8"
        else:
            body, mimetype = xlsx_chunks(title, headers, rows), XLSX_MIMETYPE
        return Response(stream_with_context(body), mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{fallback}"; '
                                   f"filename*=UTF-8''{quote(name)}"})


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate}%"
