"""The Google Sheets mirror: managers read the registers in the spreadsheets they already use.

Pure pieces: `mapping` (how a register is mirrored; declarations in `registers`), `plan` (sheet
+ projection -> the fewest writes). Edges: `projection` (reads the registers), `edge` (gspread
calls through `http`), `state` (the mirror's own tables). `engine.run_sync` ties them together;
`cli` and `views` are thin wrappers.

A register joins the mirror with one declaration in `registers`. The mirror's own admin page
(镜像状态, `views`) stays here by rule: register grids live in views/, a subsystem's own pages
live with the subsystem and are added by its `init_app`.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from sync.engine import run_sync
from sync.report import SyncReport

__all__ = ["SyncReport", "init_app", "run_sync"]


def init_app(app: Flask) -> None:
    """Register the `sheets` commands and the 镜像状态 admin page (after views.init_app)."""
    from sync.cli import sheets_cli
    from sync.views import SheetsStatusView

    app.cli.add_command(sheets_cli)
    # Only lends its templates folder (sheets/…) to the app's template search path.
    app.register_blueprint(Blueprint("sheets_templates", __name__, template_folder="templates"))
    app.extensions["admin"][0].add_view(
        SheetsStatusView(name="镜像状态", category="系统", endpoint="sheets", url="/admin/sheets"))
