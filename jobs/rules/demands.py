"""How a demand's 超时 flag was cleared, and by whom (R-REC-5; issue #11 item 8).

The sweep clears a flag when its row no longer matches the rule; what did it is in the demand's
own history: the latest step since the flag was raised (答复, 完成, 判定无效, 回访, or 修订期限 by
a supervisor) and the user who took it. A voided demand has no step for it: "void", by whoever
voided it. One
correlated lookup per cleared flag through the step table's demand index: the cost follows
the flags being cleared, not the register's size.
"""

from __future__ import annotations

from peewee import Case, fn

from jobs.models import OverdueFlag
from models.demands import Demand, DemandStep


def _latest_step(column):
    return (DemandStep.select(column)
            .where(DemandStep.demand == OverdueFlag.row_id,
                   DemandStep.created_at >= OverdueFlag.raised_at)
            .order_by(DemandStep.id.desc()).limit(1))


def demand_flag_cleared_by() -> dict:
    """The SET values of a demand flag's clearing: {"cleared_how": …, "cleared_by": …}."""
    voided = Demand.select(Demand.id).where(Demand.id == OverdueFlag.row_id,
                                            Demand.voided == True)  # noqa: E712
    was_voided = fn.EXISTS(voided)
    return {
        "cleared_how": Case(None, [(was_voided, "void")],
                            fn.COALESCE(_latest_step(DemandStep.action), "")),
        "cleared_by": Case(None, [(was_voided, voided.select(Demand.voided_by))],
                           _latest_step(DemandStep.user)),
    }
