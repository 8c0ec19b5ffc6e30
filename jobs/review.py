"""The review_figures job: recount the monthly review's months changed since they were counted
(R-DEM-10, issue #14; models/review_months.py)."""

from __future__ import annotations

import datetime as dt

from jobs.runner import Outcome
from models.review import recount_stale

# One batch is at most this many (estate, month) rows; a run takes batches until none is left
# or this many were taken (the next run, ten minutes on, goes on).
BATCHES = 20


def review_figures(now: dt.datetime | None = None) -> Outcome:
    """Recount the monthly review's estate months behind a change, and any never counted."""
    written = 0
    for _ in range(BATCHES):
        done = recount_stale()
        written += done
        if not done:
            break
    return Outcome(note=f"重新统计 {written} 个小区月份" if written else "各月统计均为最新")
