"""The db_statistics job: the query planner's statistics of every table, each night (#14).

SQLite plans from what ANALYZE left in sqlite_stat1, and without it from fixed guesses: then
a grid's newest-first page of key movements, deposits, passes … reads every row of the user's
estates through the estate's index and sorts them, where with statistics it walks the order's
index backwards and stops after the page (measured with bench/pages_bench.py on the 1M file
with and without statistics: README, Performance). SQLite never gathers them by itself, so
this job does, one table at a time (each a short write transaction: the front desk's writes
wait at most one table, about 2 s for a million demands, within the busy timeout). The whole
tables are read (no analysis_limit): sampled statistics rate every index alike and lose what
the planner needs. PostgreSQL's autovacuum gathers its own; VACUUM (ANALYZE) here makes them
fresh after a bulk load or a migration's UPDATE, before autovacuum's threshold, and takes no
lock that blocks the desk.
"""

from __future__ import annotations

import datetime as dt
import time

from jobs.runner import Outcome
from models.base import db, is_sqlite


def tables() -> list[str]:
    """The database's own tables (SQLite's internal and FTS shadow tables left out)."""
    names = db.get_tables()
    if is_sqlite():
        virtual = {row[0] for row in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")}
        names = [n for n in names if not n.startswith("sqlite_")
                 and n not in virtual and not any(n.startswith(f"{v}_") for v in virtual)]
    return sorted(names)


def db_statistics(now: dt.datetime | None = None) -> Outcome:
    """ANALYZE every table, each in its own short transaction."""
    started = time.perf_counter()
    names = tables()
    # PostgreSQL: VACUUM too (it blocks neither reads nor writes), so the rows a migration or a
    # sweep rewrote are marked visible again and an index-only walk (a 超时 link's count over
    # overdue_flag_active_order) reads no table pages; autovacuum waits for 20 % of a table.
    statement = 'ANALYZE "{}"' if is_sqlite() else 'VACUUM (ANALYZE) "{}"'
    for name in names:
        db.execute_sql(statement.format(name))
    seconds = time.perf_counter() - started
    return Outcome(note=f"更新了 {len(names)} 张表的统计信息（{seconds:.1f} 秒）")
