"""The databases the page bench reads (bench/pages_bench.py, #14): as production keeps them.

They start from the sweep bench's data (bench/jobs_data.py: 1,000,000 demands, 200,000 work
orders, 200,000 temporary passes, 100,000 key loans and 100,000 rows across the other registers
at scale 1; JOBS_BENCH_SCALE-style scales give a tenth, a thousandth …) and add what a working
office has beside it:

- the overdue sweep has run (mark_overdue through the real job, as of the data's moment), so
  the 超时 flags exist (119,468 at scale 1);
- texts the desk searches: every demand gets a description from bench/demand_data.py's phrases
  (2 % of them contain 漏水), a contact, a unit, and its search text (the FTS index rebuilt);
- callbacks (回访) in the manual's proportions: one for every closed demand and for every work
  order called back;
- decorations: every unit's over the years, numbered as they came in (13,533 at scale 1): one
  2 to 5 years ago, accepted (one in fifty rejected first and filed again), and a later one
  for a third of the units, most accepted, those whose works run today permitted, a few
  applied or rejected;
- the audit trail and the messages sent, the tables that grow fastest in production: three
  audit rows a demand (created, dispatched, closed; 3,000,000 at scale 1) and the owner's SMS
  on receipt and on completion (about 1.9 million);
- the users the bench logs in as: a supervisor of every estate;
- the monthly review's months counted (the review_figures job, as every 10 minutes in
  production; a kept database upgraded to migration 027 is counted after the upgrade).

Each scale's database is made once from the sweep bench's kept database (a copy, so that one stays
as jobs_bench left it) and kept beside it (`pages_<scale>.db`, a `.done` stamp naming the data).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import time
from pathlib import Path

from bench.demand_data import LEAKS, LOCATIONS, PASSWORD, PROBLEMS, SURNAMES, TAILS
from bench.jobs_bench import sweep
from bench.jobs_data import NOW, build_sqlite, sqlite_app, timed

SUPERVISOR = "bench_supervisor"
REFILED = 50  # one unit in fifty had its first decoration rejected and filed it again
RENOVATED = 3  # one unit in three renovated again later
PHRASES = 200  # distinct descriptions, each demand takes one by its id
LEAK_SHARE = 0.02  # of the demands mention 漏水
# Bump when what this module adds changes shape: a kept database of another layout is rebuilt.
PAGES_LAYOUT = 3  # 2: every unit's decorations over the years (#14)
# 3: the audit trail and the messages sent (three audit rows and one or two SMS per demand)


def _phrases() -> list[str]:
    """PHRASES descriptions, 2 % of them with 漏水, in a fixed order."""
    rng = random.Random(20261202)
    problems = [p for group in PROBLEMS.values() for p in group]
    leaks = int(PHRASES * LEAK_SHARE)
    texts = [f"{rng.choice(LOCATIONS)}{rng.choice(LEAKS)}，{rng.choice(TAILS)}"
             for _ in range(leaks)]
    texts += [f"{rng.choice(LOCATIONS)}{rng.choice(problems)}，{rng.choice(TAILS)}"
              for _ in range(PHRASES - leaks)]
    rng.shuffle(texts)
    return texts


def _fill_demands() -> None:
    """Description, contact, unit, search text and (closed ones) closed_at for every demand,
    set-based; the FTS5 index is rebuilt once instead of a trigger per row."""
    from models.base import db
    from models.search import bigrams

    texts = _phrases()
    now = NOW.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    db.execute_sql("CREATE TEMP TABLE bench_phrase (k INTEGER PRIMARY KEY, description TEXT,"
                   " words TEXT)")
    db.execute_sql("CREATE TEMP TABLE bench_unit (estate_id INTEGER, k INTEGER, unit_id INTEGER,"
                   " code TEXT, PRIMARY KEY (estate_id, k))")
    for k, text in enumerate(texts):
        db.execute_sql("INSERT INTO bench_phrase VALUES (?, ?, ?)", (k, text, bigrams(text)))
    db.execute_sql(
        "INSERT INTO bench_unit SELECT estate_id, ROW_NUMBER() OVER (PARTITION BY estate_id"
        " ORDER BY id) - 1, id, code FROM unit")
    db.execute_sql("CREATE TEMP TABLE bench_units (estate_id INTEGER PRIMARY KEY, n INTEGER)")
    db.execute_sql("INSERT INTO bench_units SELECT estate_id, COUNT(*) FROM bench_unit"
                   " GROUP BY estate_id")
    # The unit's code and the contact's name go into the search text as the model would put
    # them (number, description, contact, unit code: Demand.refresh_search_text).
    trigger = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                             " AND name = 'demand_fts_au'").fetchone()
    db.execute_sql("DROP TRIGGER IF EXISTS demand_fts_au")
    names = [f"{s}先生" for s in SURNAMES] + [f"{s}女士" for s in SURNAMES]
    db.execute_sql("CREATE TEMP TABLE bench_name (k INTEGER PRIMARY KEY, name TEXT)")
    for k, name in enumerate(names):
        db.execute_sql("INSERT INTO bench_name VALUES (?, ?)", (k, name))
    db.execute_sql(f"""
        UPDATE demand SET
          description = (SELECT description FROM bench_phrase WHERE k = demand.id % {PHRASES}),
          contact_name = (SELECT name FROM bench_name WHERE k = demand.id % {len(names)}),
          contact_phone = '1390000' || printf('%04d', demand.id % 10000),
          unit_id = (SELECT unit_id FROM bench_unit u WHERE u.estate_id = demand.estate_id
                     AND u.k = demand.id % (SELECT n FROM bench_units v
                                            WHERE v.estate_id = demand.estate_id)),
          closed_at = CASE WHEN status = 'closed' THEN
                        min(datetime(completed_at, '+' || (id % 48) || ' hours'), '{now}')
                      END""")
    db.execute_sql(f"""
        UPDATE demand SET search_text = lower(number) || ' ' ||
          (SELECT words FROM bench_phrase WHERE k = demand.id % {PHRASES}) || ' ' ||
          (SELECT name FROM bench_name WHERE k = demand.id % {len(names)}) || ' ' ||
          contact_phone || ' ' || COALESCE((SELECT code FROM unit WHERE id = demand.unit_id), '')
    """)
    if trigger:
        db.execute_sql(trigger[0])
    db.execute_sql("INSERT INTO demand_fts(demand_fts) VALUES ('rebuild')")


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert_select(model, given: dict[str, str], source: str) -> int:
    """INSERT INTO model's table the rows of `source` (FROM … WHERE …): the columns in `given`
    as SQL expressions, every other column its field's default (NULL when it has none)."""
    from models.base import db

    columns, values = [], []
    for field in model._meta.sorted_fields:
        if field.name == "id":
            continue
        columns.append(f'"{field.column_name}"')
        if field.column_name in given:
            values.append(given[field.column_name])
        elif field.default is not None and not callable(field.default):
            values.append(_literal(field.default))
        else:
            values.append("NULL")
    cursor = db.execute_sql(f'INSERT INTO "{model._meta.table_name}" ({", ".join(columns)})'
                            f" SELECT {', '.join(values)} {source}")
    return cursor.rowcount


def _add_callbacks() -> dict[str, int]:
    """One callback per closed demand (a demand closes after its callback, R-DEM-9) and per
    work order called back; one in twenty not satisfied."""
    from models.callbacks import Callback

    scores = "CASE WHEN id % 20 = 0 THEN 2 ELSE 5 END"
    common = {"on_time": scores, "attitude": scores, "skill": scores, "etiquette": scores,
              "satisfied": "CASE WHEN id % 20 = 0 THEN 0 ELSE 1 END", "channel": "'phone'",
              "estate_id": "estate_id"}
    demands = _insert_select(Callback, {
        **common, "demand_id": "id", "called_at": "closed_at", "created_at": "closed_at",
        "updated_at": "closed_at"}, "FROM demand WHERE status = 'closed'")
    orders = _insert_select(Callback, {
        **common, "work_order_id": "id", "called_at": "completed_at",
        "created_at": "completed_at", "updated_at": "completed_at"},
        "FROM work_order WHERE needs_callback AND callback_done AND completed_at IS NOT NULL")
    return {"callbacks on demands": demands, "callbacks on work orders": orders}


def _add_trails() -> dict[str, int]:
    """What the desk writes beside every demand and grows fastest in production: the audit
    trail (created, dispatched, closed: three rows a demand, office_str as summary, clerks of
    the estate by name) and the owner's SMS (received, and completed for those completed or
    closed), each in the order it happened (#14)."""
    from models.outbox import OutboxMessage
    from models.register import AuditLog

    steps = "(SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) s"
    at = "datetime(d.received_at, '+' || (s.k * 20) || ' hours')"
    audited = _insert_select(AuditLog, {
        "created_at": at, "updated_at": at, "username": "'clerk' || (d.id % 7 + 1)",
        "action": "CASE s.k WHEN 0 THEN 'create' ELSE 'update' END", "table": "'demand'",
        "row_id": "d.id", "estate_id": "d.estate_id",
        "changes": """CASE s.k WHEN 0 THEN '{}' WHEN 1 THEN '{"status": ["open", "dispatched"]}'
                      ELSE '{"status": ["completed", "closed"]}' END""",
        "summary": "d.number || ' ' || substr(d.description, 1, 20)",
    }, f"FROM demand d, {steps} ORDER BY d.received_at, d.id, s.k")
    sms = "(SELECT 'received' AS e UNION ALL SELECT 'completed') m"
    sent = "datetime(d.received_at, CASE m.e WHEN 'received' THEN '+1 minutes' ELSE '+2 days' END)"
    messages = _insert_select(OutboxMessage, {
        "created_at": sent, "updated_at": sent, "estate_id": "d.estate_id",
        "key": "'demand:' || d.id || ':' || m.e || ':sms'", "event": "'demand_' || m.e",
        "channel": "'sms'", "audience": "'owner'",
        "recipient": "'139' || printf('%08d', d.id)", "subject_table": "'demand'",
        "subject_id": "d.id", "sms_template": "'SMS_7000' || (m.e = 'completed')",
        "params": """'{"number": "' || d.number || '"}'""", "text": "''", "urgent": "0",
        "state": "'sent'", "attempts": "1", "next_attempt_at": sent, "claimed_by": "''",
        "provider": "'aliyun'", "provider_id": "'OK' || d.id", "answer": "'OK'", "note": "''",
        "sent_at": sent,
    }, f"FROM demand d, {sms} WHERE m.e = 'received' OR d.status IN ('completed', 'closed')"
       " ORDER BY d.received_at, d.id, m.e DESC")
    return {"audit rows": audited, "messages": messages}


def _add_decorations() -> int:
    """Every unit's applications over the years, numbered in the order they came in (#14).

    Each unit had one 2 to 5 years ago, accepted; one in REFILED of those was rejected and
    filed again a month later; one unit in RENOVATED had a later one in the last two years:
    accepted, or permitted while its 60 days of works run, a few applied or rejected."""
    from models.base import db
    from models.decoration import Decoration

    day = NOW.date()
    now = NOW.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    db.execute_sql("CREATE TEMP TABLE bench_deco (unit_id INTEGER, estate_id INTEGER,"
                   " start TEXT, state TEXT)")
    first = f"date('{day}', '-' || (730 + u.id * 37 % 1100) || ' days')"
    db.execute_sql(f"INSERT INTO bench_deco SELECT u.id, u.estate_id, {first}, CASE WHEN"
                   f" u.id % {REFILED} = 2 THEN 'rejected' ELSE 'accepted' END FROM unit u")
    db.execute_sql(f"INSERT INTO bench_deco SELECT u.id, u.estate_id, date({first}, '+30 days'),"
                   f" 'accepted' FROM unit u WHERE u.id % {REFILED} = 2")
    later = f"date('{day}', '-' || (u.id * 13 % 700) || ' days')"
    db.execute_sql(f"""
        INSERT INTO bench_deco SELECT u.id, u.estate_id,
          CASE WHEN u.id % 97 = 0 THEN date('{day}', '+7 days') ELSE {later} END,
          CASE WHEN u.id % 97 = 0 THEN 'applied' WHEN u.id % 41 = 0 THEN 'rejected'
               WHEN {later} > date('{day}', '-60 days') THEN 'permitted' ELSE 'accepted' END
        FROM unit u WHERE u.id % {RENOVATED} = 0""")
    permitted = "d.state IN ('permitted', 'accepted')"
    return _insert_select(Decoration, {
        "estate_id": "d.estate_id", "unit_id": "d.unit_id",
        "number": "'ZX-B-' || printf('%08d', ROW_NUMBER() OVER (ORDER BY d.start, d.unit_id))",
        "permit_number": f"CASE WHEN {permitted} THEN 'XK-B-' || printf('%08d', ROW_NUMBER()"
                         f" OVER (PARTITION BY {permitted} ORDER BY d.start, d.unit_id)) END",
        "owner_name": "'业主' || (d.unit_id % 97)",
        "owner_phone": "'1380000' || printf('%04d', d.unit_id % 10000)",
        "contractor": "'装修公司' || (d.unit_id % 37)", "plan_summary": "'厨卫改造，墙面翻新'",
        "works_start": "d.start", "works_end": "date(d.start, '+60 days')",
        "applied_at": "datetime(d.start, '-10 days')",
        "approval_due": "datetime(d.start, '-7 days')", "tests_due": "datetime(d.start, '-7 days')",
        "approved_at": f"CASE WHEN {permitted} THEN datetime(d.start, '-8 days') END",
        "permit_issued_at": f"CASE WHEN {permitted} THEN datetime(d.start, '-7 days') END",
        "accepted_at": "CASE WHEN d.state = 'accepted' THEN datetime(d.start, '+60 days') END",
        "acceptance_result": "CASE WHEN d.state = 'accepted' THEN 'passed' END",
        "state": "d.state", "created_at": "datetime(d.start, '-10 days')",
        "updated_at": f"min(datetime(d.start, '+60 days'), '{now}')",
    }, "FROM bench_deco d ORDER BY d.start, d.unit_id")


def _add_supervisor() -> None:
    from models.estate import Estate
    from models.users import User, UserEstate

    user = User(username=SUPERVISOR, display_name="客服主管", role="supervisor")
    user.set_password(PASSWORD)
    user.save()
    for estate in Estate.select():
        UserEstate.create(user=user, estate=estate)


def _count_months() -> str:
    """What the review_figures job leaves: every month of every estate counted (#14)."""
    from jobs.review import review_figures

    return review_figures().note


def _top_up(path: Path) -> None:
    from models.base import db

    app = sqlite_app(path)
    with app.app_context():
        flags, _ = timed("the overdue sweep (flags raised, cleared)", lambda: sweep(app))
        with db.connection_context():
            db.execute_sql("PRAGMA cache_size = -262144")
            with db.atomic():
                timed("demand texts, contacts, units; search index", _fill_demands)
                added, _ = timed("callbacks", _add_callbacks)
                decorations, _ = timed("decorations", _add_decorations)
                trails, _ = timed("audit trail and messages", _add_trails)
                _add_supervisor()
            db.execute_sql("ANALYZE")
            counted, _ = timed("the monthly review's months (review_figures)", _count_months)
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    added.update(trails)
    print(f"   {counted}; sweep {flags}; " + ", ".join(f"{k} {v:,}" for k, v in added.items())
          + f", decorations {decorations:,}", flush=True)


def build_pages(scale: float) -> Path:
    """The page bench's database at this scale, made once from jobs_bench's and kept."""
    import models
    from models.base import db

    pristine = build_sqlite(scale)
    path = pristine.with_name(f"pages_{scale:g}.db")
    done = path.with_suffix(".done")
    stamp = json.dumps({"jobs": pristine.with_suffix(".done").read_text(),
                        "layout": PAGES_LAYOUT})
    if path.exists() and done.exists() and done.read_text() == stamp:
        with sqlite_app(path).app_context():
            applied = models.upgrade()
            if applied:
                with db.connection_context():
                    db.execute_sql("ANALYZE")
                    counted, _ = timed("the monthly review's months (review_figures)",
                                       _count_months)
                print(f"   upgraded {path.name}: {', '.join(applied)}; {counted}", flush=True)
        db.close()
        return path
    done.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"   making {path.name} from {pristine.name} …", flush=True)
    shutil.copy(pristine, path)
    _top_up(path)
    done.write_text(stamp)
    print(f"   made in {time.perf_counter() - started:.0f} s", flush=True)
    return path
