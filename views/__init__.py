"""The web layer: login, the secured Flask-Admin panel and its views, built once per app.

This module is the table of contents: `build_admin` registers every view in menu order, one
`register(admin, category)` call per register module.

Where a new register goes (say "foo"):

* model: models/foo.py — fields, rules, state changes (`models.register.StatefulMixin`); listed
  in `models.MODELS` in dependency order, with a migration in models/migrations/;
* view: views/foo.py beside it — `FooAdmin(RegisterView)` with its action forms and cell
  formatters, and `register(admin, category)`; one line in `build_admin` for its menu place;
* row actions: `RowAction` declarations on that view (views/actions.py), each calling one
  model method — no hand-written endpoint, button or permission check;
* mirror: one `Mirror` declaration in sync/registers.py;
* overdue rule: one `OverdueRule` line in jobs/overdue.py (its grid gets the 超时 filter).

By rule, register grids live in views/; a subsystem's own admin pages live with the subsystem
and are added by its `init_app` (the mirror's status: sync/views.py; job runs: jobs/views.py).
"""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme
from flask_babel import gettext

from models.estate import Branch, Estate
from models.org import Building, Cluster, Department, Resident, Unit
from models.register import AuditLog
from models.storage import StorageError
from models.users import User
from views import (
    approvals,
    auth,
    batches,
    calendar,
    callbacks,
    committee,
    decoration,
    demands,
    deposits,
    emergencies,
    field,
    guide,
    h5,
    i18n,
    keys,
    menu,
    movein,
    notify,
    owner_notices,
    passes,
    patrols,
    permits,
    printing,
    rectification,
    roster,
    security,
    surveys,
    tenancy,
    work_orders,
)
from views.home import HomeView
from views.org import (
    BranchAdmin,
    BuildingAdmin,
    ClusterAdmin,
    DepartmentAdmin,
    EstateAdmin,
    ResidentAdmin,
    UnitAdmin,
)
from views.review import ReviewView
from views.users import AuditLogAdmin, UserAdmin

DEMANDS = i18n.N_("需求与投诉")
FRONT_DESK = i18n.N_("前台登记")
DECORATION = i18n.N_("装修与押金")
OFFICE = i18n.N_("办公登记")
DUTY = i18n.N_("值班与沟通")
ORG = i18n.N_("组织与房屋")
SYSTEM = i18n.N_("系统")
APPROVALS = i18n.N_("审批")
NOTICES = i18n.N_("通知")


# Errors a person can cause get a Chinese page, never Werkzeug's English one or a traceback.
ERROR_PAGES = {
    400: (i18n.N_("请求无效"),
          i18n.N_("页面已过期或提交的内容不完整（如表单令牌失效）。请刷新页面后重新提交。")),
    403: (i18n.N_("没有权限"),
          i18n.N_("您的角色不能进行这项操作。如需办理，请联系客服主管或系统管理员。")),
    404: (i18n.N_("找不到页面"), i18n.N_("要找的记录或页面不存在，或不属于您所在的小区。")),
    413: (i18n.N_("文件过大"),
          i18n.N_("上传的文件超过了允许的大小（16 MB）。请压缩或缩小后重新上传。")),
    500: (i18n.N_("系统出错"),
          i18n.N_("处理时出现了意外错误，已记录在日志中，您填写的内容没有保存。请稍后重试。")),
}
STORAGE_PAGE = (i18n.N_("附件存储暂时不可用"),
                i18n.N_("附件存储暂时不可用，请稍后重试。如果一直如此，请联系系统管理员。"))


def _error_page(code: int, title: str, message: str):
    def handler(_error):
        return render_template("error.html", title=gettext(title),
                               message=gettext(message)), code
    return handler


def build_admin(app: Flask) -> Admin:
    """Build this app's Flask-Admin (never at import: a process may build several apps)."""
    admin = Admin(app, name=i18n.N_("客服中心"), index_view=HomeView(name="首页", url="/admin"),
                  theme=Bootstrap4Theme(swatch="cerulean", fluid=True),
                  csp_nonce_generator=security.csp_nonce,
                  # Flask-Admin's strings its zh catalogue lacks (#12 item 2).
                  translations_path=str(i18n.TRANSLATIONS))
    demands.register(admin, DEMANDS)
    work_orders.register(admin, DEMANDS)
    callbacks.register(admin, DEMANDS)
    admin.add_view(ReviewView(name="分析与总结", category=DEMANDS, endpoint="review"))
    admin.add_link(MenuLink(name="手机工单", category=DEMANDS, endpoint="field.orders"))  # #16
    keys.register(admin, FRONT_DESK)
    passes.register(admin, FRONT_DESK)
    permits.register(admin, FRONT_DESK)
    decoration.register(admin, DECORATION)
    passes.register_worker_passes(admin, DECORATION)
    deposits.register(admin, DECORATION)
    patrols.register(admin, DECORATION)  # #16 装修巡查
    # The office's other registers, one module each, in menu order (issue #5).
    printing.register(admin, OFFICE)
    emergencies.register(admin, OFFICE)
    movein.register(admin, OFFICE)
    rectification.register(admin, OFFICE)  # 整改 (R-FRONT-2, #11 item 10)
    batches.register(admin, OFFICE)
    tenancy.register(admin, OFFICE)
    guide.register(admin, OFFICE)
    roster.register(admin, DUTY)
    surveys.register(admin, DUTY)
    committee.register(admin, DUTY)
    admin.add_view(ResidentAdmin(Resident, name="住户", category=ORG, endpoint="resident"))
    admin.add_view(UnitAdmin(Unit, name="房屋", category=ORG, endpoint="unit"))
    admin.add_view(BuildingAdmin(Building, name="楼栋", category=ORG, endpoint="building"))
    admin.add_view(ClusterAdmin(Cluster, name="组团", category=ORG, endpoint="cluster"))
    admin.add_view(DepartmentAdmin(Department, name="部门", category=ORG, endpoint="department"))
    calendar.register(admin, SYSTEM)
    approvals.register(admin, APPROVALS)
    admin.add_view(EstateAdmin(Estate, name="小区/管理处", category=SYSTEM, endpoint="estate"))
    admin.add_view(BranchAdmin(Branch, name="分公司", category=SYSTEM, endpoint="branch"))
    admin.add_view(UserAdmin(User, name="用户", category=SYSTEM, endpoint="user"))
    admin.add_view(AuditLogAdmin(AuditLog, name="审计日志", category=SYSTEM, endpoint="audit"))
    notify.register(admin, NOTICES)
    owner_notices.register(admin, NOTICES)  # 公告 for owners, also on the H5 (#17)
    return admin


def init_app(app: Flask) -> None:
    security.init_app(app)
    auth.login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(field.bp)
    h5.init_app(app)  # the owners' H5 under /h5 (issue #17)
    build_admin(app)
    menu.init_app(app)

    for code, (title, message) in ERROR_PAGES.items():
        app.register_error_handler(code, _error_page(code, title, message))

    # The attachment store failing (S3 503 SlowDown, connection refused, a full disk, #16):
    # a file that cannot be read answers this page; a form whose file could not be kept is
    # shown again with what was typed (models.storage.StorageError is a RuleError) and answered
    # 503 too. Never a 500, never the cause (it names hosts and buckets; it is in the log).
    app.register_error_handler(StorageError, _error_page(503, *STORAGE_PAGE))

    @app.after_request
    def _storage_unavailable(response):
        if g.get("storage_unavailable"):
            if response.status_code == 200:
                response.status_code = 503
            response.headers.setdefault("Retry-After", "60")
        return response
