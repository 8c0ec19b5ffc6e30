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

from models.base import to_office, utcnow
from models.demands import Demand
from models.i18n import office_language
from models.register import audit
from models.review import add_up, assessment_of, kept_months, review_of, trend_of
from models.review_months import month_span, months_ending
from models.users import MANAGERS
from models.validators.values import DATE_RANGE
from views.base import SecurePage
from views.charts import bar_chart, line_chart
from views.exports import XLSX_MIMETYPE, csv_chunks, xlsx_chunks
from views.forms import format_datetime
from views.grid import capped_count
from views.home import QUEUE_COUNT_CAP
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

    def _figures(self, ids: list[int], first: dt.date):
        """The month's review, its six-month trend and its assessment, read off the kept
        counts of each estate and month (models/review_months.py, #14), and when they were
        counted."""
        months = months_ending(first, TREND_MONTHS)
        kept, as_of, pending = kept_months(ids, months)
        trend = [trend_of(month, add_up(kept.get((i, month), {}) for i in ids))
                 for month, _start, _end in months]
        chosen = add_up(kept.get((i, first), {}) for i in ids)
        return review_of(chosen), trend, assessment_of(chosen), as_of, pending

    @expose("/")
    def index(self):
        estates, ids, chosen, error, first, start, end = self._selection()
        review = charts = assessed = trend = as_of = None
        pending = False
        if ids:
            review, trend, assessed, as_of, pending = self._figures(ids, first)
            # Counted now and capped like the front desk's 已超期 card: it changes with the
            # clock, not with a write, so it is not kept with the month's counts.
            review["overdue_now"] = capped_count(
                Demand.overdue(utcnow()).where(Demand.estate.in_(ids),
                                               Demand.received_at >= start,
                                               Demand.received_at < end)
                .order_by(Demand.received_at.desc()),  # read from demand_queue_owed (026)
                QUEUE_COUNT_CAP, keep_order=True)
            charts = review_charts(review, trend, assessed)
        return self.render("admin/review.html", review=review, estates=estates, chosen=chosen,
                           month=first.strftime("%Y-%m"), month_error=error, rates=RATES,
                           groups=GROUPS, charts=charts, assessed=assessed, trend=trend,
                           as_of=as_of, pending=pending)

    @expose("/export/<kind>/")
    def export(self, kind: str):
        """Download the month's review as CSV or XLSX (audited like every export; every cell
        cleaned and neutralised as in the registers' exports, #12 item 4)."""
        if kind not in ("csv", "xlsx"):
            kind = "csv"
        estates, ids, chosen, _error, first, start, end = self._selection()
        with office_language():  # the file is kept by the office: in its language (#12 item 2)
            review, _trend, assessed, as_of, _pending = self._figures(ids, first)
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
            if as_of is not None:  # the counts as kept (models/review_months.py): say when
                rows.append([gettext("说明"), gettext("统计于 %(when)s",
                                                      when=format_datetime(as_of)), ""])
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
