"""mark_overdue at scale on SQLite: set-based sweep vs the same rules as a naive per-row loop.

Issue 7 asks for 1,000,000 demands, 200,000 passes and 100,000 key loans; 200,000 work orders
come on top. The passes are temporary passes (临时出入证), the key loans key movements of kind
"lend". Issue 15 adds 100,000 rows across the registers its rules read (bench/registers_fill.py:
goods release, deposits, printing, emergencies, move-ins, tenancies, hand-overs, duty
directors, batches, surveys, committee contacts); decoration, worker passes and hot-work
permits stay empty. JOBS_BENCH_SCALE=0.1 runs a tenth of the rows (quicker, same shape).

The database of each scale is built once and kept (BENCH_JOBS_DIR, else bench/results/jobs/;
about 0.9 GB at scale 1, 6 minutes to build on the shared 2-core machine) and upgraded in place
when a migration is added; each measurement sweeps a fresh copy of it. Printed: the full sweep
(first run: every flag written, the missed-deadline notices queued), the unchanged re-run (the
goal of issue #15: under 10 s and 2 s at scale 1), the rules' shares, a run after 1% of the
rows changed; wall time with this process's CPU time beside it, and the load average, since
other work shares the machine. BENCH_PG_URL=postgresql://… also copies the data into that
PostgreSQL database and times the same sweeps there (bench/jobs_bench_pg.py). The naive
per-row loop runs up to scale 0.1 (BENCH_JOBS_NAIVE=1 for larger).

Loading: peewee builds insert_many's SQL at ~250 µs a row here (40 columns), so a seed of
synthetic rows goes in through insert_many and is then copied set-based (INSERT … SELECT) up to
the full count, with the tables' indexes and triggers dropped during the load and rebuilt after.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

from bench.jobs_data import (
    NOW,
    OTHER_REGISTERS,
    build_sqlite,
    change_one_percent,
    discard,
    sizes_at,
    sqlite_app,
    timed,
    working_copy,
)
from bench.registers_fill import slowest_rules


def _naive_predicates():
    from jobs.overdue import DEFAULT_CALLBACK_HOURS, callback_cutoff
    from models.base import to_office
    from models.demands import REPLY_OWED

    cutoff = callback_cutoff(NOW)
    callback_before = NOW - dt.timedelta(hours=DEFAULT_CALLBACK_HOURS)
    today = to_office(NOW).date()
    return {
        "key_loan": lambda r: (r.kind == "lend" and r.returned_at is None
                               and r.expected_return is not None and r.expected_return < NOW),
        "temporary_pass": lambda r: (not r.voided and r.state == "issued"
                                     and r.valid_to is not None and r.valid_to < today),
        "demand_reply": lambda r: (not r.voided and r.status in REPLY_OWED
                                   and r.replied_at is None and r.reply_due is not None
                                   and r.reply_due < NOW),
        "demand_invalid_notice": lambda r: (not r.voided and r.status == "invalid"
                                            and r.replied_at is None
                                            and r.invalid_notice_due is not None
                                            and r.invalid_notice_due < NOW),
        "demand_callback": lambda r: (not r.voided and r.status == "completed"
                                      and r.completed_at is not None
                                      and r.completed_at < callback_before),
        "work_order_callback": lambda r: (not r.voided and r.state == "completed"
                                          and r.needs_callback and not r.callback_done
                                          and r.completed_at is not None
                                          and r.completed_at < cutoff),
    }


def naive_mark_overdue() -> tuple[int, int]:
    """The same rules row by row: each register read once into Python (only the columns the
    rules need), each overdue row's flag looked up, inserted or cleared one at a time. (The
    registers left empty here are left out.)"""
    from jobs.models import OverdueFlag
    from jobs.overdue import RULES
    from models.base import write_transaction
    from models.demands import Demand
    from models.keys import KeyMovement
    from models.passes import TemporaryPass
    from models.work_orders import WorkOrder

    columns = {
        KeyMovement: (KeyMovement.id, KeyMovement.estate, KeyMovement.kind,
                      KeyMovement.returned_at, KeyMovement.expected_return),
        TemporaryPass: (TemporaryPass.id, TemporaryPass.estate, TemporaryPass.voided,
                        TemporaryPass.state, TemporaryPass.valid_to),
        Demand: (Demand.id, Demand.estate, Demand.voided, Demand.status, Demand.replied_at,
                 Demand.reply_due, Demand.invalid_notice_due, Demand.completed_at),
        WorkOrder: (WorkOrder.id, WorkOrder.estate, WorkOrder.voided, WorkOrder.state,
                    WorkOrder.needs_callback, WorkOrder.callback_done,
                    WorkOrder.completed_at),
    }
    predicates = _naive_predicates()
    raised = cleared = 0
    with write_transaction():
        for model, fields in columns.items():
            rules = [rule for rule in RULES if rule.model is model and rule.id in predicates]
            seen = {rule.id: set() for rule in rules}
            for row in model.select(*fields).iterator():
                for rule in rules:
                    if not predicates[rule.id](row):
                        continue
                    seen[rule.id].add(row.id)
                    if not OverdueFlag.select().where(
                            OverdueFlag.rule == rule.id, OverdueFlag.row_id == row.id,
                            OverdueFlag.cleared_at.is_null()).exists():
                        OverdueFlag.create(rule=rule.id, table=model._meta.table_name,
                                           row_id=row.id, estate=row.estate_id, raised_at=NOW,
                                           created_at=NOW, updated_at=NOW)
                        raised += 1
            for rule in rules:
                for flag in OverdueFlag.select().where(OverdueFlag.rule == rule.id,
                                                       OverdueFlag.cleared_at.is_null()):
                    if flag.row_id not in seen[rule.id]:
                        flag.cleared_at = flag.updated_at = NOW
                        flag.save()
                        cleared += 1
    return raised, cleared


def sweep(app):
    """The real job path: lease, run row, calendar overrides, mark_overdue, release."""
    from jobs.registry import get_job
    from jobs.runner import run_job

    run = run_job(get_job("mark_overdue"), app=app, now=NOW)
    return run.flagged, run.cleared


def main() -> None:
    from bench.demand_report import machine
    from models.base import db

    scale = float(os.environ.get("JOBS_BENCH_SCALE", "1"))
    sizes = sizes_at(scale)
    print(f"   machine: {machine()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"   SQLite {sqlite3.sqlite_version}; sweeping as of {NOW:%Y-%m-%d %H:%M} Asia/Shanghai; "
          + ", ".join(f"{table} {size:,}" for table, size in sizes.items())
          + f"; {int(OTHER_REGISTERS * scale):,} rows across the other registers", flush=True)
    pristine = build_sqlite(scale)

    work = working_copy(pristine, "sweep.db")
    app = sqlite_app(work)
    try:
        with app.app_context():
            # Every sweep as of NOW: "nothing changed" must not mean "the clock moved on".
            (first, first_s) = timed("set-based: full sweep (first run)", lambda: sweep(app))
            (again, again_s) = timed("set-based: unchanged sweep (re-run)",
                                      lambda: sweep(app))
            with db.connection_context():
                from jobs.flags import active_counts

                print("   flags per rule: " + ", ".join(
                    f"{rule} {count:,}" for rule, count in sorted(active_counts().items())))
                print(f"   unchanged sweep, slowest rules: {slowest_rules(NOW)}")
            with db.connection_context():
                change_one_percent(sizes)
            (after, _) = timed("set-based: run after 1% changed", lambda: sweep(app))
            print(f"   flags raised/cleared: first {first}, re-run {again}, after 1% {after}")
        print(f"   SQLite at {sizes['demand']:,} demands: full sweep {first_s:.2f} s (goal 10 s), "
              f"unchanged sweep {again_s:.2f} s (goal 2 s); load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    finally:
        db.close()
        discard(work)

    if scale <= 0.1 or os.environ.get("BENCH_JOBS_NAIVE"):
        work = working_copy(pristine, "naive.db")
        app = sqlite_app(work)
        try:
            with app.app_context(), db.connection_context():
                (naive, naive_s) = timed("naive per-row loop: first run", naive_mark_overdue)
        finally:
            db.close()
            discard(work)
        print(f"   naive raised/cleared: {naive} (same database, issue 7's rules)")
        print(f"   set-based first run (every rule) is {naive_s / first_s:.0f}× faster than the "
              "per-row loop (issue 7's rules only)")
    else:
        print("   naive per-row loop skipped above scale 0.1 (BENCH_JOBS_NAIVE=1 runs it)")

    pg_url = os.environ.get("BENCH_PG_URL")
    if pg_url:
        from bench.jobs_bench_pg import run_postgres

        run_postgres(pg_url, scale, pristine, pristine.with_suffix(".done").read_text())


if __name__ == "__main__":
    main()
