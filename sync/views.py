"""镜像状态: how each estate's tabs are doing, a "sync now" button, and the no-Google preview."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from models.base import RuleError, utcnow
from models.estate import Estate
from models.register import audit
from models.users import MANAGERS
from sync.engine import is_live, run_sync
from sync.preview import preview_targets, workbook_bytes
from sync.reading import VERIFY_ROWS
from sync.registers import MIRRORS
from sync.state import SheetTab, SheetTarget, configure
from views.base import SecurePage

PREVIEW_ROWS = 20
# Pointing an estate's registers at a spreadsheet decides who outside the office reads them.
CONFIGURE_ROLES = frozenset({"admin", "director"})


class SheetsStatusView(SecurePage):
    """Show the Google Sheets mirror's state per tab; sync now; preview and download."""

    roles = MANAGERS

    def _estate(self, value) -> Estate:
        try:
            estate_id = int(value)
        except (TypeError, ValueError):
            abort(404)
        if estate_id not in current_user.estate_ids():
            abort(404)
        return Estate.get_by_id(estate_id)

    @expose("/")
    def index(self):
        estates = []
        for estate in current_user.estates():
            target = SheetTarget.get_or_none(SheetTarget.estate == estate)
            live = target is not None and is_live(target)
            tabs = []
            if target is not None:
                tabs = list(SheetTab.select().where(SheetTab.target == target)
                            .order_by(SheetTab.title))
            disabled = target.disabled_registers() if target is not None else set()
            estates.append({
                "estate": estate, "target": target, "live": live, "tabs": tabs,
                "preview": None if live else preview_targets(estate.id, target),
                "registers": [(m.name, m.title, m.name not in disabled)
                              for m in MIRRORS.values()],
            })
        return self.render("sheets/status.html", estates=estates, preview_rows=PREVIEW_ROWS,
                           can_configure=current_user.role in CONFIGURE_ROLES,
                           verify_rows=current_app.config.get("SHEETS_VERIFY_ROWS", VERIFY_ROWS),
                           now=utcnow())

    @expose("/configure", methods=("POST",))
    def configure_view(self):
        """Set the estate's spreadsheet and which registers are mirrored to it."""
        if current_user.role not in CONFIGURE_ROLES:
            abort(403)
        estate = self._estate(request.form.get("estate"))
        chosen = set(request.form.getlist("registers"))
        try:
            configure(estate, request.form.get("spreadsheet", ""),
                      switches={name: name in chosen for name in MIRRORS},
                      user=current_user._get_current_object())
        except RuleError as exc:
            flash("；".join(exc.errors.values()), "error")
        else:
            flash(gettext("已保存%(name)s的镜像表格设置。", name=estate.name), "success")
        return redirect(url_for(".index"))

    @expose("/sync", methods=("POST",))
    def sync_now(self):
        """Mirror one estate's registers now (the scheduler also does it every few minutes)."""
        estate = self._estate(request.form.get("estate"))
        report = run_sync(estate.code)
        lines = report.lines()
        category = "error" if not report.ok else ("warning" if report.busy else "success")
        flash("；".join(line.strip() for line in lines), category)
        return redirect(url_for(".index"))

    @expose("/xlsx")
    def xlsx(self):
        """Download exactly what the estate's tabs would hold, as an Excel file."""
        estate = self._estate(request.args.get("estate"))
        target = SheetTarget.get_or_none(SheetTarget.estate == estate)
        targets = preview_targets(estate.id, target)
        rows = sum(len(t.rows) for t in targets)
        audit(current_user._get_current_object(), "export", table="sheet_preview",
              estate_id=estate.id, changes={"tabs": [t.title for t in targets], "rows": rows},
              summary=f"下载镜像预览 XLSX：{estate.name} {rows} 行")
        return send_file(
            io.BytesIO(workbook_bytes(targets)), as_attachment=True,
            download_name=f"{estate.code}-镜像预览.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

