"""The data layer: every table in dependency order, the connection hooks and the `db` commands.

One module per register, its rules next to its fields (demo data lives in demo/, not here).
A new register "foo" puts its model in models/foo.py (a `RegisterModel`; rows that move through
states add `StatefulMixin` and change state with `require_state` and `transition`, a history
table of their own written in `record_transition`), appends it to MODELS below after every
table it references, and adds a migration in models/migrations/. Its view and row actions go
in views/foo.py, its mirror in sync/registers.py and its overdue rule in jobs/overdue.py (see
the views package's docstring).
"""

from __future__ import annotations

import os

import click
from flask import Flask, g, request

from models import deadlines
from models.approvals import ApprovalRequest
from models.attachments import Attachment
from models.base import close_database, db, open_database, set_office_timezone
from models.batches import ServiceBatch, ServiceRegistration
from models.calendar import CalendarOverride, CalendarYear, NumberSequence, load_overrides
from models.callbacks import Callback
from models.committee import CommitteeContact, CommitteeItem
from models.decoration import Decoration
from models.demands import Demand, DemandStep
from models.deposits import Deposit
from models.emergencies import Emergency, EmergencyStep
from models.estate import Branch, Estate
from models.field import FieldVisit, Submission
from models.guide import GuideCategory, GuideEntry
from models.keys import KeyMovement, KeySet
from models.movein import MoveIn
from models.notices import Notice
from models.notify_settings import NotifyTemplate, SmsOptOut
from models.org import Building, Cluster, Department, Resident, Unit
from models.outbox import DeliveryAttempt, OutboxMessage
from models.owners import OwnerAttempt, OwnerCode
from models.passes import TemporaryPass, WorkerPass
from models.patrols import DecorationPatrol
from models.permits import GoodsLine, GoodsRelease, HotWorkPermit
from models.printing import PrintJob
from models.rectification import Rectification, RectificationStep
from models.register import AuditLog
from models.review_months import ReviewMonth
from models.roster import DutyDirector, RosterEntry, Shift, ShiftLog
from models.surveys import SurveyRound, SurveyVisit
from models.tenancy import OwnershipTransfer, Tenancy
from models.users import LoginAttempt, User, UserEstate, set_password_method
from models.work_orders import WorkOrder

# Dependency order: a table comes after every table it references.
MODELS = [
    Branch,
    Estate,
    User,
    UserEstate,
    LoginAttempt,
    AuditLog,
    Department,
    Cluster,
    Building,
    Unit,
    Resident,
    CalendarOverride,
    CalendarYear,
    NumberSequence,
    Demand,
    DemandStep,
    WorkOrder,
    Callback,
    Deposit,
    Decoration,
    WorkerPass,
    TemporaryPass,
    HotWorkPermit,
    GoodsRelease,
    GoodsLine,
    KeySet,
    KeyMovement,
    GuideCategory,
    GuideEntry,
    PrintJob,
    Emergency,
    EmergencyStep,
    MoveIn,
    ServiceBatch,
    ServiceRegistration,
    Shift,
    RosterEntry,
    DutyDirector,
    ShiftLog,
    SurveyRound,
    SurveyVisit,
    CommitteeContact,
    CommitteeItem,
    Tenancy,
    OwnershipTransfer,
    ApprovalRequest,
    Rectification,
    RectificationStep,
    # Issue #16: files kept with any register's rows; the phone page's submissions and visits.
    Attachment,
    Submission,
    FieldVisit,
    DecorationPatrol,
    # The notification outbox (issue #17).
    NotifyTemplate,
    SmsOptOut,
    OutboxMessage,
    DeliveryAttempt,
    OwnerCode,
    OwnerAttempt,
    Notice,  # 公告 for owners (issue #17 item 2)
    ReviewMonth,  # the monthly review's kept counts (issue #14)
]

# Views that open (and report the failure of) their own connection: /healthz must answer 503,
# not fail before it runs, when the database is down.
OWN_CONNECTION_ENDPOINTS = frozenset({"ops.healthz"})

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def bind(app: Flask) -> None:
    """Point the data layer at this app's settings: its database, office zone and password hashing.

    The data layer is per process (one app in production); the test suite builds one app and
    binds it again to each test's fresh database (tests/conftest.py).
    """
    close_database(db.obj)  # a pool's idle connections too: they hold the old file open
    db.initialize(open_database(app.config["DATABASE_URL"],
                                pool=int(app.config.get("DATABASE_POOL") or 0)))
    set_office_timezone(app.config["OFFICE_TZ"])
    set_password_method(app.config.get("PASSWORD_HASH_METHOD"), testing=app.config["TESTING"])


def init_app(app: Flask) -> None:
    """Bind the database, open one connection per request, register the `db` commands."""
    bind(app)

    @app.before_request
    def _connect():
        if request.endpoint in OWN_CONNECTION_ENDPOINTS:
            return
        # A job or test that already holds the connection keeps it; we close only our own.
        if db.is_closed():
            db.connect()
            g.db_opened = True
        if request.endpoint != "static" and not request.path.startswith("/admin/static"):
            # Deadlines computed in this request see the office's latest calendar overrides,
            # read when the first one is computed (most pages compute none).
            deadlines.load_overrides_when_used(load_overrides)

    @app.teardown_request
    def _close(_exc):
        deadlines.load_overrides_when_used(None)
        if g.pop("db_opened", False) and not db.is_closed():
            db.close()

    from models.commands import demo_cli, users_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)


def router():
    """The peewee-migrate router over our versioned migrations."""
    from peewee_migrate import Router

    return Router(db.obj, migrate_dir=MIGRATIONS_DIR, ignore=["basemodel"])


def upgrade(target: str | None = None) -> list[str]:
    """Apply pending migrations (up to `target` if given); return the names applied."""
    with db.connection_context():
        return router().run(target)


@click.group("db")
def db_cli():
    """Database schema commands."""


@db_cli.command("upgrade")
@click.option("--to", "target", default=None, help="Stop after this migration (default: latest).")
def upgrade_command(target):
    """Create or upgrade the database schema to the current version, keeping all data."""
    applied = upgrade(target)
    if applied:
        click.echo("已升级数据库：" + ", ".join(applied))
    else:
        click.echo("数据库已是最新版本。")


@db_cli.command("status")
def status_command():
    """Show applied and pending migrations."""
    with db.connection_context():
        r = router()
        click.echo("已应用：" + (", ".join(r.done) or "无"))
        click.echo("待应用：" + (", ".join(r.diff) or "无"))
