"""The jobs' own tables: leases, runs, overdue flags and the daily digests.

None of them holds personal data: a flag points at a register row by table and id, a run keeps
counts and a sanitised error, a digest keeps counts and document numbers (编号) only.
"""

from __future__ import annotations

import json

from peewee import CharField, ForeignKeyField, IntegerField, TextField

from models.base import AwareDateTimeField, BaseModel, utcnow
from models.estate import Estate
from models.i18n import L_
from models.users import User

RUN_STATUSES = [
    ("running", L_("运行中")),
    ("succeeded", L_("成功")),
    ("partial", L_("部分失败")),
    ("failed", L_("失败")),
    ("skipped", L_("跳过")),
    ("abandoned", L_("中断")),
]
RUN_STATUS_LABELS = dict(RUN_STATUSES)

TRIGGERS = [
    ("schedule", L_("定时")),
    ("catch_up", L_("补跑")),
    ("manual", L_("手动")),
]

LEASE_STATES = [
    ("held", L_("运行中")),
    ("done", L_("已完成")),
    ("expired", L_("已过期")),
    # The slot could not run (another run held the job): its run row says why (#15).
    ("skipped", L_("已跳过")),
]


class JobLease(BaseModel):
    """One row per job and slot: whoever holds it runs that slot, nobody else ever does.

    `expires_at` bounds how long a holder may keep it: a run killed mid-way stops renewing
    nothing, its lease expires and the next attempt takes it over (state becomes "expired").
    """

    job = CharField(max_length=32, verbose_name=L_("任务"))
    slot = CharField(max_length=48, verbose_name=L_("时段"),
                     help_text=L_("计划运行时刻（UTC），手动运行为 manual-…"))
    slot_time = AwareDateTimeField(verbose_name=L_("时段时间"))
    holder = CharField(max_length=96, verbose_name=L_("持有者"), help_text=L_("主机:进程号:随机串"))
    acquired_at = AwareDateTimeField(default=utcnow, verbose_name=L_("取得时间"))
    expires_at = AwareDateTimeField(verbose_name=L_("过期时间"))
    state = CharField(max_length=16, choices=LEASE_STATES, default="held", verbose_name=L_("状态"))

    class Meta:
        table_name = "job_lease"
        indexes = (
            # A slot is run at most once, whichever scheduler asks first.
            (("job", "slot"), True),
            # Catch-up asks: has anything run for this job since the last nightly slot?
            (("job", "slot_time"), False),
        )


class JobRun(BaseModel):
    """One run of a job: when, why, how it ended and what it changed (the runs page)."""

    job = CharField(max_length=32, index=True, verbose_name=L_("任务"))
    slot = CharField(max_length=48, verbose_name=L_("时段"))
    slot_time = AwareDateTimeField(null=True, verbose_name=L_("计划时间"))
    trigger = CharField(max_length=16, choices=TRIGGERS, default="schedule",
                        verbose_name=L_("触发"))
    holder = CharField(max_length=96, default="", verbose_name=L_("运行进程"))
    started_at = AwareDateTimeField(default=utcnow, index=True, verbose_name=L_("开始时间"))
    finished_at = AwareDateTimeField(null=True, verbose_name=L_("结束时间"))
    status = CharField(max_length=16, choices=RUN_STATUSES, default="running", index=True,
                       verbose_name=L_("状态"))
    flagged = IntegerField(default=0, verbose_name=L_("新标记"))
    cleared = IntegerField(default=0, verbose_name=L_("解除"))
    note = CharField(max_length=255, default="", verbose_name=L_("说明"))
    # Only the exception's kind and our own messages: database errors can quote row values.
    error = CharField(max_length=500, default="", verbose_name=L_("错误"))

    class Meta:
        table_name = "job_run"

    def __str__(self) -> str:
        return f"{self.job} {self.slot}"

    @property
    def status_label(self) -> str:
        return RUN_STATUS_LABELS.get(self.status, self.status)


class OverdueFlag(BaseModel):
    """A register row found overdue by one rule, from first raised until the cause is fixed.

    A row overdue again after being cleared gets a new flag, so history keeps each episode
    (R-REC-5: when raised, when cleared, how and by whom).
    """

    rule = CharField(max_length=32, verbose_name=L_("规则"))
    table = CharField(max_length=64, verbose_name=L_("表"))
    row_id = IntegerField(verbose_name=L_("记录号"))
    estate = ForeignKeyField(Estate, backref="+", on_delete="CASCADE", verbose_name=L_("小区"))
    raised_at = AwareDateTimeField(verbose_name=L_("首次标记时间"))
    cleared_at = AwareDateTimeField(null=True, verbose_name=L_("解除时间"))
    # R-REC-5: how the flag was cleared and by whom, when its rule can tell (the demand rules
    # name the demand's step: 答复, 完成, 修订期限…); empty: the sweep found it no longer overdue.
    cleared_how = CharField(max_length=16, default="", verbose_name=L_("解除方式"))
    cleared_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("解除人"))
    # The flagged row's place in its grid's default order (its 受理时间, 派工时间…: the column
    # jobs.flags.ROW_ORDER names), copied when the flag is raised and moved with the row when
    # an edit changes it: a 超时 link lists a rule's rows by walking its flags in this order
    # and stops after the page, wherever the flagged rows lie in the register (migration
    # 028, #14). Empty for the registers ROW_ORDER does not name.
    row_order = AwareDateTimeField(null=True, verbose_name=L_("排序"))

    class Meta:
        table_name = "overdue_flag"
        indexes = (
            # The grids ask "which of these rows are overdue?" by table and row.
            (("table", "row_id"), False),
            # The digest asks "what became overdue in this estate since the last one?".
            (("estate", "raised_at"), False),
        )


# At most one active flag per rule and row: a partial unique index (SQLite and PostgreSQL both
# have them; Meta.indexes cannot say WHERE, so it is declared here and created in migration 005).
OverdueFlag.add_index(OverdueFlag.index(OverdueFlag.rule, OverdueFlag.row_id, unique=True,
                                        name="overdue_flag_active",
                                        where=OverdueFlag.cleared_at.is_null()))
# The front desk's 超时 lines: a rule's active flags in the user's estates, counted up to a cap
# from the index (migration 026, #14 item 3).
OverdueFlag.add_index(OverdueFlag.index(OverdueFlag.rule, OverdueFlag.estate,
                                        name="overdue_flag_active_estate",
                                        where=OverdueFlag.cleared_at.is_null()))
# A 超时 link: a rule's active flags in the grid's order, newest first (migration 028, #14).
OverdueFlag.add_index(OverdueFlag.index(OverdueFlag.rule, OverdueFlag.row_order,
                                        OverdueFlag.row_id, name="overdue_flag_active_order",
                                        where=OverdueFlag.cleared_at.is_null()))


class OverdueDigest(BaseModel):
    """What became overdue in one estate since its previous digest (front desk and group chat)."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="CASCADE", verbose_name=L_("小区"))
    period_start = AwareDateTimeField(null=True, verbose_name=L_("起始时间"),
                                      help_text=L_("上一份摘要的截止时间；第一份为空（含以往全部）"))
    period_end = AwareDateTimeField(verbose_name=L_("截止时间"))
    new_total = IntegerField(default=0, verbose_name=L_("新增超时"))
    active_total = IntegerField(default=0, verbose_name=L_("当前超时"))
    # [{"rule", "label", "new", "active", "numbers": [...]}, …] in the rules' order.
    items_json = TextField(default="[]", verbose_name=L_("明细"))
    webhook_status = CharField(max_length=16, default="", verbose_name=L_("推送状态"),
                               help_text=L_("sent 已推送；failed 推送失败（通知发送记录中稍后重"
                                            "试）；disabled 本小区已关闭；空＝未配置或无需推送"))
    webhook_error = CharField(max_length=255, default="", verbose_name=L_("推送错误"))

    class Meta:
        table_name = "overdue_digest"
        indexes = ((("estate", "period_end"), False),)

    @property
    def items(self) -> list[dict]:
        return json.loads(self.items_json or "[]")


class SchedulerHeartbeat(BaseModel):
    """One row per scheduler process, touched every minute: /healthz reads the newest beat."""

    holder = CharField(max_length=96, unique=True, verbose_name=L_("调度进程"),
                       help_text=L_("主机:进程号"))
    started_at = AwareDateTimeField(default=utcnow, verbose_name=L_("启动时间"))
    beat_at = AwareDateTimeField(default=utcnow, index=True, verbose_name=L_("最近心跳"))

    class Meta:
        table_name = "scheduler_heartbeat"
