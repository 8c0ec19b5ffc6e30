"""Notifications in the admin (issue #17): the estate's settings per event, SMS opt-outs, the
delivery log of every message, and each staff member's own 通知 list.

Numbers are masked everywhere here (the outbox keeps them in clear only to send them); the
delivery log has no export and no search by number.
"""

from __future__ import annotations

import segno
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from peewee import JOIN

from models.base import utcnow
from models.i18n import L_
from models.notify_settings import EVENT_CHOICES, EVENTS, NotifyTemplate, SmsOptOut
from models.org import Building
from models.outbox import CHANNELS, STATES, OutboxMessage, delivery_log
from models.users import DESK, EVERYONE, MANAGERS, User
from views.actions import RegisterView, add_views
from views.base import SecureModelView, SecurePage
from views.fields import RESIDENT_LOOKUP, chosen_estate
from views.scoping import WalkedEqualFilter

NOBODY: frozenset[str] = frozenset()
NOTICES_PER_PAGE = 50


def _event_cell(view, context, row, name):
    audience, label, default, names = EVENTS.get(row.event, ("", row.event, "", ()))
    params = "、".join("{" + n + "}" for n in names)
    # The default text is what owners and staff receive: Chinese whatever the screen says.
    return Markup(gettext('{}<br><small class="text-muted">默认：<span lang="zh">{}</span>'
                          '（参数 {}）</small>')).format(
        label, default, params)


class NotifyTemplateAdmin(RegisterView):
    """通知设置: per estate and event, on or off, the words and the SMS provider's template id."""

    permissions = {"list": MANAGERS, "create": MANAGERS, "edit": MANAGERS, "void": MANAGERS,
                   "export": NOBODY, "reveal": NOBODY}
    column_list = ("estate", "event", "enabled", "sms_template", "text")
    column_formatters = {"event": _event_cell}
    column_filters = ("enabled",)
    form_create_columns = ("estate", "event", "enabled", "sms_template", "text")
    form_edit_columns = ("enabled", "sms_template", "text")


class SmsOptOutAdmin(RegisterView):
    """短信退订: residents who asked for no SMS; voiding the row opts them back in."""

    permissions = {"list": DESK, "create": DESK, "edit": NOBODY, "void": DESK,
                   "export": NOBODY, "reveal": NOBODY}
    column_list = ("estate", "resident", "reason", "created_at")
    form_create_columns = ("estate", "resident", "reason")
    form_ajax_refs = {"resident": RESIDENT_LOOKUP}


def _recipient_cell(view, context, row, name):
    return row.recipient_label


class OutboxAdmin(SecureModelView):
    """通知发送记录: every message, its state, tries and the provider's answer (numbers masked)."""

    permissions = {"list": MANAGERS, "create": NOBODY, "edit": NOBODY, "void": NOBODY,
                   "export": NOBODY, "reveal": NOBODY}
    can_view_details = False
    column_display_actions = False
    column_list = ("created_at", "estate", "event", "channel", "recipient", "state", "attempts",
                   "sent_at", "answer", "note")
    # The base view hides bookkeeping columns, created_at among them: here it is when the
    # message was made, listed first as column_list says (it was hidden until #14's reread).
    column_exclude_list = ()
    column_labels = {"created_at": L_("生成时间")}
    column_formatters = {"recipient": _recipient_cell}
    column_default_sort = ("id", True)
    # Every message ever sent stays (one or two SMS a demand and more): the grid sorts only by
    # what an index reads in order. 生成时间 is the order rows were written in, the primary
    # key's; the rest is found with the filters (#14).
    column_sortable_list = (("created_at", OutboxMessage.id), "estate", "state")

    def get_query(self):
        # An in-app or WeCom message's recipient is a user: the name is joined, not loaded
        # once per row (#14: 26 statements for a 50-row page at 100,000 demands).
        return (super().get_query().select_extend(User.id, User.display_name)
                .join_from(OutboxMessage, User, JOIN.LEFT_OUTER,
                           on=(OutboxMessage.user == User.id)))
    column_filters = [
        FilterEqual(OutboxMessage.state, L_("状态"), options=STATES),
        WalkedEqualFilter(OutboxMessage.channel, L_("渠道"), options=CHANNELS),
        WalkedEqualFilter(OutboxMessage.event, L_("通知事项"), options=EVENT_CHOICES),
    ]


class NoticeView(SecurePage):
    """通知: the in-app notices sent to me (new work orders, missed deadlines, emergencies)."""

    roles = EVERYONE

    def mine(self):
        return OutboxMessage.select().where(OutboxMessage.channel == "inapp",
                                            OutboxMessage.user == current_user.id)

    @expose("/")
    def index(self):
        notices = list(self.mine().order_by(OutboxMessage.id.desc()).limit(NOTICES_PER_PAGE))
        unread = self.mine().where(OutboxMessage.read_at.is_null()).count()
        return self.render("admin/notices.html", notices=notices, unread=unread)

    @expose("/read/", methods=("POST",))
    def read_view(self):
        """Mark all my notices read."""
        OutboxMessage.update(read_at=utcnow()).where(
            OutboxMessage.channel == "inapp", OutboxMessage.user == current_user.id,
            OutboxMessage.read_at.is_null()).execute()
        flash(gettext("已全部标为已读"), "success")
        return redirect(self.get_url(".index"))


def h5_url() -> str:
    """Where owners sign in: H5_BASE_URL (the public https address) or this server's."""
    base = current_app.config.get("H5_BASE_URL") or request.url_root
    return base.rstrip("/") + url_for("h5.login")


class PosterView(SecurePage):
    """业主 H5 海报: a printable A4 QR code per estate and per building that opens the H5."""

    roles = DESK

    @expose("/")
    def index(self):
        estate, estates = chosen_estate()
        if estate is None:
            abort(404)
        buildings = list(Building.select().where(Building.estate == estate.id,
                                                 Building.voided == False)  # noqa: E712
                         .order_by(Building.name))
        building = next((b for b in buildings
                         if b.id == request.args.get("building", type=int)), None)
        if request.args.get("print"):
            url = h5_url()
            qr = segno.make(url, error="m").svg_data_uri(scale=10, border=2)
            return self.render("admin/h5_poster_print.html", estate=estate, building=building,
                               url=url, qr=qr)
        return self.render("admin/h5_posters.html", estate=estate, estates=estates,
                           buildings=buildings)


def register(admin, category: str) -> None:
    admin.add_view(NoticeView(name="通知", category=category, endpoint="notices"))
    admin.add_view(PosterView(name="业主 H5 海报", category=category, endpoint="h5_poster"))
    add_views(admin, category,
              (NotifyTemplateAdmin, NotifyTemplate, "通知设置", "notify_template"),
              (SmsOptOutAdmin, SmsOptOut, "短信退订", "sms_opt_out"))
    admin.add_view(OutboxAdmin(OutboxMessage, name="通知发送记录", category=category,
                               endpoint="outbox"))
    # The delivery log under a row's details (demand_details.html and others).
    admin.app.jinja_env.globals.update(delivery_log=delivery_log)
