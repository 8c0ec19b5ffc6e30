"""The sweep bench's data (bench/jobs_bench.py): 1,000,000 demands, 200,000 work orders, 200,000
temporary passes, 100,000 key loans and 100,000 rows across the other registers
(bench/registers_fill.py), built once per scale into a kept SQLite file and copied for each
measurement. See jobs_bench's docstring for how the rows are loaded."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.registers_fill import fill_registers

DEMANDS = 1_000_000
WORK_ORDERS = 200_000
PASSES = 200_000
KEY_LOANS = 100_000
OTHER_REGISTERS = 100_000  # issue 15: across the other registers (bench/registers_fill.py)
ESTATES = 10
BATCH = 500  # rows per INSERT: under SQLite's bound-variable limit for these tables
SEED_FRACTION = 20  # insert_many 1/20 of the rows, copy the rest
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# Bump when the generated rows change shape: a kept database of another layout is rebuilt.
DATA_LAYOUT = 4  # 3: a supervisor per estate (the deadline warnings have someone to tell)
# 4: every rule of registers_fill has a page of overdue rows at 100k (FLAGGED_FLOOR, #14)


def timed(label: str, action):
    """Wall time, and this process's CPU time beside it: the machine is shared, and under load
    the wall time is mostly waiting for a core (the load average is printed with the figures)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    seconds = time.perf_counter() - started
    print(f"   {label:<44} {seconds:8.2f} s  (CPU {time.process_time() - cpu:6.2f} s)", flush=True)
    return result, seconds


def _demand_rows(count: int, estate_ids: list[int], rng: random.Random):
    """Demands in the proportions of a busy office: most closed, a few percent overdue."""
    stamp = NOW - dt.timedelta(days=1)
    for i in range(count):
        roll = rng.random()
        received = NOW - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 700))
        row = {
            "estate": estate_ids[i % len(estate_ids)], "number": f"XQ-B-{i + 1:08d}",
            "received_at": received, "category": "engineering", "description": "",
            "status": "closed", "reply_due": received + dt.timedelta(days=2),
            "replied_at": None, "completed_at": None, "invalid_notice_due": None,
            "created_at": stamp, "updated_at": stamp,
        }
        if roll < 0.04:  # owed a reply, past due
            row.update(status=rng.choice(("open", "dispatched")),
                       reply_due=NOW - dt.timedelta(hours=rng.randrange(1, 500)))
        elif roll < 0.07:  # owed a reply, not yet due
            row.update(status=rng.choice(("open", "dispatched")),
                       reply_due=NOW + dt.timedelta(hours=rng.randrange(1, 48)))
        elif roll < 0.11:  # waiting for the callback; half of them too long
            done = NOW - dt.timedelta(hours=rng.randrange(1, 96), minutes=30)
            row.update(status="completed", replied_at=done, completed_at=done)
        elif roll < 0.12:  # invalid, owner to be told; some past the notice deadline
            row.update(status="invalid", invalid_notice_due=NOW + dt.timedelta(
                hours=rng.randrange(-72, 24), minutes=30))
        else:
            row.update(replied_at=row["reply_due"], completed_at=row["reply_due"])
        yield row


def _work_order_rows(count: int, estate_ids: list[int], departments: dict[int, int],
                     rng: random.Random):
    stamp = NOW - dt.timedelta(days=1)
    for i in range(count):
        estate = estate_ids[i % len(estate_ids)]
        done = NOW - dt.timedelta(hours=rng.randrange(1, 24 * 300))
        roll = rng.random()
        yield {
            "estate": estate, "department": departments[estate], "number": f"WX-B-{i + 1:08d}",
            "what": "", "dispatched_at": done - dt.timedelta(hours=2),
            "completed_at": None if roll < 0.05 else done,
            "state": "open" if roll < 0.05 else "completed",
            "needs_callback": 0.05 <= roll < 0.15, "callback_done": roll >= 0.10,
            "created_at": stamp, "updated_at": stamp,
        }


def _unit_rows(count: int, estate_ids: list[int], buildings: dict[int, int]):
    stamp = NOW - dt.timedelta(days=400)
    for i in range(count):
        estate = estate_ids[i % len(estate_ids)]
        yield {"estate": estate, "building": buildings[estate], "room": f"{i:05d}",
               "code": f"1-1-{i:05d}", "created_at": stamp, "updated_at": stamp}


def _key_set_rows(units: list[tuple[int, int]]):
    stamp = NOW - dt.timedelta(days=400)
    for unit, estate in units:
        yield {"estate": estate, "unit": unit, "since": stamp, "created_at": stamp,
               "updated_at": stamp}


def _key_loan_rows(count: int, key_sets: list[tuple[int, int]], rng: random.Random):
    """Loans: most struck off on return, a few still out, some of those past due."""
    for i in range(count):
        key_set, estate = key_sets[i % len(key_sets)]
        lent = NOW - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 300))
        out = rng.random() < 0.03
        expected = (NOW + dt.timedelta(hours=rng.randrange(1, 48)) if out and rng.random() < 0.3
                    else lent + dt.timedelta(hours=rng.randrange(1, 48)))
        yield {"estate": estate, "key_set": key_set, "kind": "lend", "number": f"JY-B-{i + 1:08d}",
               "at": lent, "from_location": "office", "to_location": "lent", "person": "",
               "borrower_type": "sales", "expected_return": expected, "signed": True,
               "returned_at": None if out else expected, "created_at": lent, "updated_at": lent}


def _pass_rows(count: int, estate_ids: list[int], rng: random.Random):
    """Temporary passes, valid 3 days counting the issue day: most handed back."""
    for i in range(count):
        issued = NOW - dt.timedelta(minutes=rng.randrange(10, 60 * 24 * 300))
        day = issued.date()
        returned = rng.random() < 0.92
        yield {"estate": estate_ids[i % len(estate_ids)], "number": f"LS-B-{i + 1:08d}",
               "holder_name": "", "id_number": "", "purpose": "送货", "issued_at": issued,
               "valid_from": day, "valid_to": day + dt.timedelta(days=2),
               "state": "returned" if returned else "issued",
               "returned_at": issued if returned else None,
               "created_at": issued, "updated_at": issued}


def _insert_many(model, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            model.insert_many(batch).execute()
            batch = []
    if batch:
        model.insert_many(batch).execute()


def _copy_up_to(table: str, prefix: str, seed: int, total: int) -> None:
    """Copy the seed rows (ids 1..seed) until the table holds `total`, each copy renumbered."""
    from models.base import db

    columns = [c.name for c in db.get_columns(table) if c.name != "id"]
    quoted = ", ".join(f'"{c}"' for c in columns)
    count = seed
    while count < total:
        take = min(seed, total - count)
        picked = ", ".join(f"'{prefix}' || printf('%08d', id + {count})" if c == "number"
                           else f'"{c}"' for c in columns)
        db.execute_sql(f'INSERT INTO "{table}" ({quoted}) SELECT {picked} FROM "{table}"'
                       f" WHERE id <= {take}")
        count += take


def _load(sizes: dict[str, int], other_rows: int) -> None:
    """Seed through insert_many, copy up to size with the indexes off, then rebuild them."""
    from models.base import db
    from models.demands import Demand
    from models.estate import Branch, Estate
    from models.keys import KeyMovement, KeySet
    from models.org import Building, Cluster, Department, Unit
    from models.passes import TemporaryPass
    from models.users import User, UserEstate
    from models.work_orders import WorkOrder

    rng = random.Random(20261126)
    branch = Branch.create(name="基准分公司")
    estates = [Estate.create(branch=branch, code=f"B{i:02d}", name=f"基准小区{i}")
               for i in range(ESTATES)]
    departments = {e.id: Department.create(estate=e, kind="engineering", name="工程部").id
                   for e in estates}
    # Every office has its CS supervisor: the sweep's warnings and notices go to them, and an
    # unchanged sweep then finds everything already told (as in production).
    for estate in estates:
        supervisor = User.create(username=f"bench_sup_{estate.code}", display_name="基准主管",
                                 role="supervisor", password_hash="!")
        UserEstate.create(user=supervisor, estate=estate)
    buildings = {e.id: Building.create(estate=e, cluster=Cluster.create(estate=e, name="一组团"),
                                       name="1栋").id for e in estates}
    ids = [e.id for e in estates]
    _insert_many(Unit, _unit_rows(max(1, sizes["key_movement"] // 10), ids, buildings))
    _insert_many(KeySet, _key_set_rows(list(Unit.select(Unit.id, Unit.estate).tuples())))
    key_sets = list(KeySet.select(KeySet.id, KeySet.estate).tuples())
    seeds = {table: max(1, size // SEED_FRACTION) for table, size in sizes.items()}
    makers = {
        "demand": (Demand, "XQ-B-", lambda n: _demand_rows(n, ids, rng)),
        "work_order": (WorkOrder, "WX-B-",
                       lambda n: _work_order_rows(n, ids, departments, rng)),
        "temporary_pass": (TemporaryPass, "LS-B-", lambda n: _pass_rows(n, ids, rng)),
        "key_movement": (KeyMovement, "JY-B-", lambda n: _key_loan_rows(n, key_sets, rng)),
    }
    tables = tuple(sizes)
    schema = db.execute_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        f" AND tbl_name IN {tables} AND sql IS NOT NULL").fetchall()
    with db.atomic():
        for kind, name, _ in schema:
            db.execute_sql(f'DROP {kind.upper()} "{name}"')
        timed(f"insert_many {sum(seeds.values()):,} seed rows", lambda: [
            _insert_many(model, make(seeds[table]))
            for table, (model, _, make) in makers.items()])
        timed(f"copy up to {sum(sizes.values()):,} rows", lambda: [
            _copy_up_to(table, prefix, seeds[table], sizes[table])
            for table, (_, prefix, _) in makers.items()])
        timed("rebuild indexes, triggers, search index", lambda: (
            [db.execute_sql(sql) for _, _, sql in schema],
            db.execute_sql("INSERT INTO demand_fts(demand_fts) VALUES ('rebuild')")))
    units = list(Unit.select(Unit.id, Unit.estate).order_by(Unit.id).tuples())
    with db.atomic():
        counts, _ = timed(f"insert_many {other_rows:,} rows, other registers",
                           lambda: fill_registers(other_rows, NOW, _insert_many, ids, units,
                                                  departments))
    print("   " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
    db.execute_sql("ANALYZE")


def change_one_percent(sizes: dict[str, int]) -> None:
    """1% of the rows change: answers given, deadlines passing, callbacks made, keys and
    passes handed back."""
    from models.base import db
    from models.demands import Demand
    from models.keys import KeyMovement
    from models.passes import TemporaryPass
    from models.work_orders import WorkOrder

    demands, work_orders = sizes["demand"], sizes["work_order"]
    rng = random.Random(7)
    stamp = NOW + dt.timedelta(minutes=5)
    with db.atomic():
        owed = [i for (i,) in Demand.select(Demand.id).where(
            Demand.status.in_(("open", "dispatched"))).tuples()]
        picked = rng.sample(owed, min(len(owed), demands // 100))
        half = len(picked) // 2
        for start in range(0, half, BATCH):  # answered: their flags clear
            chunk = picked[start:min(start + BATCH, half)]
            Demand.update(replied_at=NOW, status="completed", completed_at=NOW,
                          updated_at=stamp).where(Demand.id.in_(chunk)).execute()
        for start in range(half, len(picked), BATCH):  # deadline brought forward: new flags
            chunk = picked[start:start + BATCH]
            Demand.update(reply_due=NOW - dt.timedelta(minutes=1),
                          updated_at=stamp).where(Demand.id.in_(chunk)).execute()
        waiting = [i for (i,) in WorkOrder.select(WorkOrder.id).where(
            WorkOrder.needs_callback == True, WorkOrder.callback_done == False).tuples()]  # noqa: E712
        called = rng.sample(waiting, min(len(waiting), work_orders // 100))
        for start in range(0, len(called), BATCH):  # called back: their flags clear
            WorkOrder.update(callback_done=True, updated_at=stamp).where(
                WorkOrder.id.in_(called[start:start + BATCH])).execute()
        out = [i for (i,) in KeyMovement.select(KeyMovement.id).where(
            KeyMovement.returned_at.is_null()).tuples()]
        back = rng.sample(out, min(len(out), sizes["key_movement"] // 100))
        for start in range(0, len(back), BATCH):
            KeyMovement.update(returned_at=NOW, updated_at=stamp).where(
                KeyMovement.id.in_(back[start:start + BATCH])).execute()
        issued = [i for (i,) in TemporaryPass.select(TemporaryPass.id).where(
            TemporaryPass.state == "issued").tuples()]
        handed = rng.sample(issued, min(len(issued), sizes["temporary_pass"] // 100))
        for start in range(0, len(handed), BATCH):
            TemporaryPass.update(state="returned", returned_at=NOW, updated_at=stamp).where(
                TemporaryPass.id.in_(handed[start:start + BATCH])).execute()


# --- the same rules as a per-row loop, for comparison ------------------------------------------

def sizes_at(scale: float) -> dict[str, int]:
    return {"demand": int(DEMANDS * scale), "work_order": int(WORK_ORDERS * scale),
            "temporary_pass": int(PASSES * scale), "key_movement": int(KEY_LOANS * scale)}


def _data_dir() -> Path:
    """Where the built databases are kept between runs (BENCH_JOBS_DIR, else bench/results/)."""
    folder = Path(os.environ.get("BENCH_JOBS_DIR")
                  or Path(__file__).resolve().parent / "results" / "jobs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sqlite_app(path: Path):
    from app import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    app.instance_path = str(path.parent)
    return app


def build_sqlite(scale: float) -> Path:
    """The database at this scale, built once and kept (a `.done` file beside it says it is
    complete and which sizes it holds); a half-built one is thrown away and built again."""
    import models
    from models.base import db

    sizes, other = sizes_at(scale), int(OTHER_REGISTERS * scale)
    path = _data_dir() / f"jobs_{scale:g}.db"
    done = path.with_suffix(".done")
    stamp = json.dumps({"sizes": sizes, "other": other, "layout": DATA_LAYOUT})
    if path.exists() and done.exists() and done.read_text() == stamp:
        print(f"   reusing {path} ({path.stat().st_size / 1e9:.2f} GB)", flush=True)
        with sqlite_app(path).app_context():
            applied = models.upgrade()  # e.g. a new index: the data stays
            if applied:
                with db.connection_context():
                    db.execute_sql("ANALYZE")
                    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                print(f"   upgraded it: {', '.join(applied)}", flush=True)
        db.close()
        return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    done.unlink(missing_ok=True)
    print(f"   building {path} …", flush=True)
    app = sqlite_app(path)
    started = time.perf_counter()
    with app.app_context():
        models.upgrade()
        with db.connection_context():
            db.execute_sql("PRAGMA cache_size = -262144")  # this loading connection (256 MiB)
            _load(sizes, other)
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"   built in {time.perf_counter() - started:.0f} s, "
          f"{path.stat().st_size / 1e9:.2f} GB", flush=True)
    done.write_text(stamp)
    return path


def working_copy(pristine: Path, name: str) -> Path:
    """A copy to sweep (a sweep writes flags): every measurement starts from the built data."""
    copy = pristine.with_name(name)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copy(pristine, copy)
    return copy


def discard(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
