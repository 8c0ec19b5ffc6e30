"""Rows for the registers the sweep's issue-#15 rules read, for bench/jobs_bench.py.

Proportions of a busy office, most rows settled and about 1–3% of each register overdue:
goods release slips, deposits, print jobs, emergencies, move-ins, tenancies, shift hand-overs,
duty directors, batch services, survey rounds with visits, committee contacts and rectification
items — `total`
rows across them (100,000 at full scale). Rows go in through insert_many (no copying: several
of these tables have partial unique indexes, one row per estate and day, unit or month).

Each rule the sweep reads here has at least FLAGGED_FLOOR rows overdue once its register holds
four times that many (spread evenly through the register, beside the random share): the page
bench's 超时 links then show a full page of 50 rows at 100k as at 1M, so their 1M/100k ratio
compares equal pages, and what grows is the register behind the page (#14).
"""

from __future__ import annotations

import datetime as dt
import random

# Share of `total` per register (about 100%).
SHARES = {
    "goods_release": 0.15, "deposit": 0.20, "print_job": 0.15, "emergency": 0.05,
    "move_in": 0.10, "tenancy": 0.10, "shift_log": 0.12, "duty_director": 0.04,
    "service_batch": 0.02, "survey_visit": 0.01, "committee_contact": 0.01,
    "rectification": 0.05,
}


FLAGGED_FLOOR = 50  # rows overdue per rule at least: a grid page


def _forced(i: int, n: int, rules: int = 1) -> int:
    """Whether row i of n is made overdue besides the register's random share: one row in
    n / (FLOOR x rules), once the register holds 4 x FLOOR x rules rows. 0: not forced; k >= 1:
    forced for the k-th of `rules` rules (a register two rules read alternates between them)."""
    spacing = n // (FLAGGED_FLOOR * rules)
    if n >= 4 * FLAGGED_FLOOR * rules and i % spacing == 0:
        return 1 + (i // spacing) % rules
    return 0


def _stamp(now: dt.datetime, rng: random.Random, days: int) -> dt.datetime:
    return now - dt.timedelta(minutes=rng.randrange(10, 60 * 24 * days))


def _goods(n, ctx):
    now, rng = ctx["now"], ctx["rng"]
    for i in range(n):
        estate, unit = ctx["unit_of"](i)
        made = _stamp(now, rng, 700)
        pending = rng.random() < 0.02 or _forced(i, n) > 0
        yield {"estate": estate, "number": f"FX-B-{i + 1:08d}", "bearer_name": "搬运",
               "id_number": "11010519491231002X", "unit": unit,
               "state": "pending" if pending else "released",
               "created_at": made, "updated_at": made}


def _deposits(n, ctx):
    now, rng = ctx["now"], ctx["rng"]
    for i in range(n):
        made = _stamp(now, rng, 700)
        due = rng.random() < 0.03
        yield {"estate": ctx["estates"][i % len(ctx["estates"])], "kind": "pass_deposit",
               "payer": "装修工人", "amount": 50, "state": "due" if due else "held",
               "receipt_number": None if due else f"SJ-B-{i + 1:08d}",
               "collected_at": None if due else made, "created_at": made, "updated_at": made}


def _print_jobs(n, ctx):
    now, rng = ctx["now"], ctx["rng"]
    for i in range(n):
        estate = ctx["estates"][i % len(ctx["estates"])]
        asked = _stamp(now, rng, 700)
        waiting = rng.random() < 0.02 or _forced(i, n) > 0
        yield {"estate": estate, "number": f"DY-B-{i + 1:08d}",
               "department": ctx["departments"][estate], "title": "通知", "copies": 1,
               "pages": 1, "total_pages": 1, "requested_at": asked,
               "state": "requested" if waiting else "printed",
               "approved_at": None if waiting else asked, "printed_at": None if waiting else asked,
               "created_at": asked, "updated_at": asked}


def _emergencies(n, ctx):
    now, rng = ctx["now"], ctx["rng"]
    for i in range(n):
        occurred = _stamp(now, rng, 700)
        roll = rng.random()
        state = "open" if roll < 0.01 else "stabilised" if roll < 0.03 else "closed"
        filled = "已查明" if state == "closed" or roll < 0.02 else ""
        forced = _forced(i, n, rules=2)  # emergency_open, emergency_aftermath
        if forced:
            state, filled = ("open" if forced == 1 else "stabilised"), ""
        settled = None if state == "open" else occurred + dt.timedelta(hours=2)
        yield {"estate": ctx["estates"][i % len(ctx["estates"])],
               "number": f"JJ-B-{i + 1:08d}", "occurred_at": occurred, "place": "地库",
               "kind": "water", "description": "水管爆裂", "reported_by": "保安",
               "first_reported_to": "值班客服", "reported_at": occurred,
               "stabilised_at": settled, "cause": filled, "responsible_person": filled,
               "remedial_measures": filled, "preventive_measures": filled, "state": state,
               "closed_at": settled if state == "closed" else None,
               "created_at": occurred, "updated_at": occurred}


def _move_ins(n, ctx):
    now, rng = ctx["now"], ctx["rng"]
    for i in range(min(n, len(ctx["units"]))):
        unit, estate = ctx["units"][i]
        start = _stamp(now, rng, 700)
        step = 7 if rng.random() > 0.1 else rng.randrange(1, 7)
        row = {"estate": estate, "number": f"RH-B-{i + 1:08d}", "unit": unit,
               "owner_name": "业主", "current_step": step, "created_at": start,
               "updated_at": start, "completed_at": start if step == 7 else None}
        for done in range(1, step):
            row[f"step{done}_at"] = start + dt.timedelta(days=done)
        yield row


def _tenancies(n, ctx):
    today = ctx["now"].date()
    rng = ctx["rng"]
    for i in range(min(n, len(ctx["units"]))):
        unit, estate = ctx["units"][-1 - i]
        starts = today - dt.timedelta(days=rng.randrange(30, 900))
        forced = _forced(i, min(n, len(ctx["units"]))) > 0
        if forced:  # a lease that ended a month or more ago
            starts = min(starts, today - dt.timedelta(days=400))
        ends = starts + dt.timedelta(days=365)
        forgotten = (ends < today and rng.random() < 0.05) or forced
        yield {"estate": estate, "unit": unit, "tenant_name": "租客", "tenant_phone": "",
               "starts": starts, "ends": ends, "contract_number": f"ZL-B-{i + 1:08d}",
               "ended_on": None if forgotten or ends >= today else ends,
               "created_at": ctx["now"], "updated_at": ctx["now"]}


def _shift_logs(n, ctx):
    now, rng, estates = ctx["now"], ctx["rng"], ctx["estates"]
    for i in range(n):
        estate, j = estates[i % len(estates)], i // len(estates)
        day = now.date() - dt.timedelta(days=j // 3)
        written = now - dt.timedelta(hours=8 * j + 1)
        open_ = rng.random() < 0.01 or _forced(i, n) > 0
        yield {"estate": estate, "day": day, "shift": ctx["shifts"][estate][j % 3],
               "written_at": written, "handover_note": "无", "acknowledged_at":
               None if open_ else written + dt.timedelta(minutes=10),
               "created_at": written, "updated_at": written}


def _duty_directors(n, ctx):
    today, estates = ctx["now"].date(), ctx["estates"]
    for i in range(n):
        estate, j = estates[i % len(estates)], i // len(estates)
        if j == 3:
            continue  # a gap three days ahead in every estate
        yield {"estate": estate, "day": today + dt.timedelta(days=7 - j),
               "director": ctx["director"], "created_at": ctx["now"],
               "updated_at": ctx["now"]}


def _batches(n, ctx):
    today, rng = ctx["now"].date(), ctx["rng"]
    for i in range(n):
        day = today + dt.timedelta(days=rng.randrange(-600, 20))
        told = day > today + dt.timedelta(days=10) or rng.random() > 0.02
        if _forced(i, n) > 0:  # its day came without the owners told
            day, told = min(day, today), False
        yield {"estate": ctx["estates"][i % len(ctx["estates"])],
               "number": f"PL-B-{i + 1:08d}", "kind": "gas", "day": day,
               "gas_company": "燃气公司", "gas_appointment": "A1",
               "notice_at": ctx["now"] - dt.timedelta(days=30) if told else None,
               "state": ("done" if day < today else "notified") if told else "planned",
               "created_at": ctx["now"], "updated_at": ctx["now"]}


def _committee(n, ctx):
    now = ctx["now"]
    for i in range(n):
        held = now - dt.timedelta(days=3 * (i // len(ctx["estates"])) + 40)
        yield {"estate": ctx["estates"][i % len(ctx["estates"])], "held_at": held,
               "attendees": "业委会", "topics": "例会", "created_at": held, "updated_at": held}


def _rectifications(n, ctx):
    """整改 items: most closed, some in work, about 2% in work past their deadline."""
    now, rng = ctx["now"], ctx["rng"]
    for i in range(n):
        estate, unit = ctx["unit_of"](i)
        found = _stamp(now, rng, 700)
        state = "closed" if rng.random() > 0.1 else "assigned"
        if state == "closed":
            due = found + dt.timedelta(days=9)
        else:
            due = now + dt.timedelta(days=-1 if rng.random() < 0.2 else 3)
        if _forced(i, n) > 0:  # in work past its deadline
            state, due = "assigned", now - dt.timedelta(days=1)
        yield {"estate": estate, "number": f"ZG-B-{i + 1:08d}", "unit": unit,
               "description": "墙面空鼓", "state": state,
               "department": ctx["departments"][estate], "assigned_at": found, "due": due,
               "original_due": due, "created_at": found, "updated_at": found}


def fill_registers(total: int, now: dt.datetime, insert_many, estate_ids: list[int],
                   units: list[tuple[int, int]], departments: dict[int, int]) -> dict[str, int]:
    """Insert about `total` rows across the registers; return the rows per table."""
    from models.batches import ServiceBatch
    from models.committee import CommitteeContact
    from models.deposits import Deposit
    from models.emergencies import Emergency
    from models.estate import Estate
    from models.movein import MoveIn
    from models.permits import GoodsRelease
    from models.printing import PrintJob
    from models.rectification import Rectification
    from models.roster import DutyDirector, ShiftLog, ensure_default_shifts
    from models.surveys import SurveyRound, SurveyVisit
    from models.tenancy import Tenancy
    from models.users import User

    director = User.create(username="bench-director", display_name="值班主任", role="director",
                           password_hash="!")
    Estate.update(created_at=now - dt.timedelta(days=800)).execute()
    ctx = {"now": now, "rng": random.Random(15), "estates": estate_ids, "units": units,
           "departments": departments, "director": director.id,
           "unit_of": lambda i: (units[i % len(units)][1], units[i % len(units)][0]),
           "shifts": {e: [s.id for s in ensure_default_shifts(e, None)] for e in estate_ids}}
    makers = {"goods_release": (GoodsRelease, _goods), "deposit": (Deposit, _deposits),
              "print_job": (PrintJob, _print_jobs), "emergency": (Emergency, _emergencies),
              "move_in": (MoveIn, _move_ins), "tenancy": (Tenancy, _tenancies),
              "shift_log": (ShiftLog, _shift_logs),
              "duty_director": (DutyDirector, _duty_directors),
              "service_batch": (ServiceBatch, _batches),
              "committee_contact": (CommitteeContact, _committee),
              "rectification": (Rectification, _rectifications)}
    counts = {}
    for table, (model, make) in makers.items():
        before = model.select().count()
        insert_many(model, make(max(1, int(total * SHARES[table])), ctx))
        counts[table] = model.select().count() - before
    # Surveys: a round per estate and month for two years, every month but the last visited.
    visits = max(1, int(total * SHARES["survey_visit"]))
    months = sorted({(now - dt.timedelta(days=30 * k)).date().replace(day=1) for k in range(24)})
    rounds = [SurveyRound.create(estate=e, month=m, created_at=now, updated_at=now)
              for e in estate_ids for m in months[:-1]]
    insert_many(SurveyVisit, ({"estate": r.estate_id, "round": r.id,
                               "unit": next(u for u, e in units if e == r.estate_id),
                               "visited_at": now - dt.timedelta(days=40), "service_score": 5,
                               "environment_score": 5, "security_score": 5,
                               "engineering_score": 5, "created_at": now, "updated_at": now}
                              for r in rounds[:visits]))
    counts["survey_round"], counts["survey_visit"] = len(rounds), min(visits, len(rounds))
    return counts


def slowest_rules(now: dt.datetime, top: int = 6) -> str:
    """Each rule's share of an unchanged sweep (its two statements, rolled back), slowest first."""
    import time

    from jobs.flags import sync_rule
    from jobs.overdue import RULES
    from models.base import db

    seconds = {}
    with db.atomic() as transaction:
        for rule in RULES:
            started = time.perf_counter()
            sync_rule(rule, now)
            seconds[rule.id] = time.perf_counter() - started
        transaction.rollback()
    ranked = sorted(seconds.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{rule} {1000 * s:.0f} ms" for rule, s in ranked)
