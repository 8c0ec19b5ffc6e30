"""Decoration patrols (装修巡查, issue #16): works under way need a patrol every N days.

JOBS_DECORATION_PATROL_DAYS (default 7): a decoration whose permit was issued more than that
ago, still under works (施工中 or 验收整改中), with no patrol within that many days is flagged.
"""

from __future__ import annotations

import datetime as dt

from jobs.rules import days_setting
from models.patrols import DEFAULT_PATROL_DAYS, patrol_missing


def decoration_patrol_missing(now: dt.datetime):
    """Under works and not patrolled within the setting's days."""
    return patrol_missing(now, days_setting("JOBS_DECORATION_PATROL_DAYS", DEFAULT_PATROL_DAYS))
