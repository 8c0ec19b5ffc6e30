"""Overdue flags: kept in step with each rule by set-based SQL, and read by the grids.

Maintenance (`sync_rule`) is two statements per rule, whatever the number of rows:

* INSERT … SELECT the rule's overdue rows that have no active flag yet (first raised now);
* UPDATE the rule's active flags whose row no longer matches the rule (cleared now, with how
  and by whom where the rule can tell: R-REC-5, flags are history).

A row that stays overdue keeps its flag untouched, so a re-run with nothing changed writes
nothing. A flag of a register named in ROW_ORDER carries its row's place in the grid's order
(`row_order`), copied when raised and moved with its row when an edit changes that column
(`follow_row_order`, from models.register.save_record). Reading (`active_flags`,
`overdue_subquery`, `flagged_ids`, `flag_rules`, `active_counts`) is what the register grids
and the front-desk screen use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from peewee import JOIN, SQL, Expression, Model, NodeList, Value, fn

from jobs.models import OverdueFlag
from models.base import db, is_sqlite
from models.users import User

# A rule raising this many flags at once refreshes PostgreSQL's statistics of overdue_flag.
ANALYZE_AFTER = 100

# Register -> the column its grid lists rows by (newest first) when no other sort is chosen:
# each active flag keeps a copy (OverdueFlag.row_order), so a 超时 link walks the rule's flags
# in the grid's order (overdue_flag_active_order) and stops after the page, wherever the
# flagged rows lie among the register's (#14; jobs.views.OverdueFilter). The work-order grid
# puts open orders first: each of its rules flags orders of one kind (arrival and completion
# open ones, the after-hours callback completed ones), so within a rule 派工时间 is its order.
# Migrations 028 (the first three) and 031 fill the flags of these registers;
# tests/test_flag_links.py checks each against its grid. Every register whose grid lists by a
# moment is here; the rest list by a day (统一施工 batches, tenancies: a day has no place
# among moments) or are the estates themselves, and keep `id IN (the rule's flags)`.
ROW_ORDER = {"demand": "received_at", "temporary_pass": "issued_at",
             "work_order": "dispatched_at",
             # migration 031
             "key_movement": "at", "worker_pass": "issued_at", "hot_work_permit": "work_from",
             "decoration": "applied_at", "deposit": "created_at", "goods_release": "created_at",
             "emergency": "occurred_at", "print_job": "requested_at", "move_in": "created_at",
             "shift_log": "written_at", "rectification": "created_at"}

# SQLite's estimate of one rule's active flags is the average over every rule (sqlite_stat1,
# where ANALYZE has run); for a register smaller than that average (emergencies, print
# requests: thousands of rows at 1M demands beside tens of thousands of a demand rule's flags)
# it then either drives the join from the register or scans the register into a Bloom filter
# before walking the flags — either way the register's size again (#14). A term the index
# cannot use (+"table"), weighted as rare (likelihood), brings the estimate down to a few
# flags: SQLite walks the flags and looks each row up by its id, with or without statistics.
RARE = 0.001


def order_column(model: type[Model]):
    """The register's grid-order column its flags keep (ROW_ORDER), or None."""
    name = ROW_ORDER.get(model._meta.table_name)
    return getattr(model, name) if name else None


def link_join(model: type[Model], rule: str, flag) -> Expression:
    """The ON of a 超时 link's join of the register to `flag` (an alias of OverdueFlag): the
    rule's active flag of each row, in an order the planner walks from the flags (RARE)."""
    on = (flag.row_id == model.id) & (flag.rule == rule) & flag.cleared_at.is_null()
    if is_sqlite():
        unindexed = NodeList((SQL("+"), flag.table), glue="")
        on &= fn.likelihood(unindexed == model._meta.table_name, SQL(repr(RARE)))  # a constant
    return on


def follow_row_order(row: Model, changed: Iterable[str]) -> None:
    """The row's active flags take its new place in the grid's order, when an edit changed
    the column ROW_ORDER names (a work order's 派工时间: the only one a form edits after the
    row is made). Called inside the edit's transaction: one indexed UPDATE, none otherwise."""
    column = order_column(type(row))
    if column is not None and column.name in changed:
        OverdueFlag.update(row_order=getattr(row, column.name)).where(
            OverdueFlag.table == row._meta.table_name, OverdueFlag.row_id == row.id,
            OverdueFlag.cleared_at.is_null()).execute()


def sync_rule(rule, now: dt.datetime) -> tuple[int, int]:
    """Raise new flags and clear stale ones for one rule; return (raised, cleared).

    `rule` is a jobs.overdue.OverdueRule. Call inside the sweep's transaction.
    """
    model = rule.model
    stamp = Value(now, converter=OverdueFlag.raised_at.db_value)
    order = order_column(model)
    row_order = Value(None) if order is None else order
    already = OverdueFlag.select(Value(1)).where(
        OverdueFlag.rule == rule.id, OverdueFlag.row_id == model.id,
        OverdueFlag.cleared_at.is_null())
    new_rows = rule.query(now).select(
        Value(rule.id), Value(model._meta.table_name), model.id, rule.estate_column,
        stamp, stamp, stamp, Value(""), row_order).where(~fn.EXISTS(already))
    if not is_sqlite():
        # PostgreSQL reads the rows to insert while it inserts them: planned against an
        # (almost) empty overdue_flag, "no active flag yet" is a scan of overdue_flag per row,
        # and that scan grows with every row inserted — a first sweep over 1,000,000 demands
        # did not finish the reply rule in minutes (#15's bench). The ids are decided first,
        # in full (an uncorrelated ARRAY(…) is computed once, before the insert starts);
        # SQLite buffers an INSERT … SELECT that reads its own table by itself.
        ids = rule.query(now).select(model.id).where(~fn.EXISTS(already))
        new_rows = model.select(
            Value(rule.id), Value(model._meta.table_name), model.id, rule.estate_column,
            stamp, stamp, stamp, Value(""), row_order).where(
            model.id == NodeList((SQL("ANY(ARRAY"), ids, SQL(")")), glue=""))
    raised = OverdueFlag.insert_from(new_rows, [
        OverdueFlag.rule, OverdueFlag.table, OverdueFlag.row_id, OverdueFlag.estate,
        OverdueFlag.raised_at, OverdueFlag.created_at, OverdueFlag.updated_at,
        OverdueFlag.cleared_how, OverdueFlag.row_order,
    ]).as_rowcount().execute()
    if raised >= ANALYZE_AFTER and not is_sqlite():
        # PostgreSQL plans the clearing below, and the next sweeps, from its statistics of
        # overdue_flag; taken while it was (nearly) empty they say "one flag per rule", and
        # the anti-joins become nested loops over every pair of flag and row: at 1,000,000
        # demands minutes instead of milliseconds (#15's bench). Autovacuum comes later.
        db.execute_sql("ANALYZE overdue_flag")
    # Correlated on the flag's row: the cost follows the active flags, not the register's size.
    still_overdue = rule.query(now).select(Value(1)).where(model.id == OverdueFlag.row_id)
    # R-REC-5: what cleared it and who, from the register's own record (rule.cleared_by).
    cause = rule.cleared_by() if rule.cleared_by else {}
    cleared = OverdueFlag.update(cleared_at=now, updated_at=now, **cause).where(
        OverdueFlag.rule == rule.id, OverdueFlag.cleared_at.is_null(),
        ~fn.EXISTS(still_overdue)).execute()
    return raised, cleared


# --- reading ----------------------------------------------------------------------------------


def active_flags(model: type[Model] | None = None, rule: str | None = None,
                 estate_ids: Iterable[int] | None = None):
    """Active flags (a query of OverdueFlag), optionally of one register, rule or estates."""
    query = OverdueFlag.select().where(OverdueFlag.cleared_at.is_null())
    if model is not None:
        query = query.where(OverdueFlag.table == model._meta.table_name)
    if rule is not None:
        query = query.where(OverdueFlag.rule == rule)
    if estate_ids is not None:
        query = query.where(OverdueFlag.estate.in_(list(estate_ids)))
    return query


def overdue_subquery(model: type[Model], rule: str | None = None):
    """Ids of the register's overdue rows, as a subquery: `query.where(Demand.id.in_(…))`."""
    return active_flags(model, rule).select(OverdueFlag.row_id)


def flagged_ids(model: type[Model], rule: str | None = None,
                ids: Iterable[int] | None = None) -> set[int]:
    """Ids of the register's rows with an active flag (of `rule` if given; among `ids` if given)."""
    query = overdue_subquery(model, rule)
    if ids is not None:
        query = query.where(OverdueFlag.row_id.in_(list(ids)))
    return {row_id for (row_id,) in query.tuples()}


def flag_rules(model: type[Model], ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """{row id: [rule id, …]} for the register's flagged rows (among `ids` if given)."""
    query = active_flags(model).select(OverdueFlag.row_id, OverdueFlag.rule)
    if ids is not None:
        query = query.where(OverdueFlag.row_id.in_(list(ids)))
    rules: dict[int, list[str]] = defaultdict(list)
    for row_id, rule in query.order_by(OverdueFlag.rule).tuples():
        rules[row_id].append(rule)
    return dict(rules)


def flag_history(model: type[Model], row_id: int):
    """Every flag a row ever had, oldest first, with the clearing user's name (R-REC-5)."""
    return (OverdueFlag.select(OverdueFlag, User.display_name.alias("cleared_by_name"))
            .join(User, JOIN.LEFT_OUTER, on=(OverdueFlag.cleared_by == User.id))
            .where(OverdueFlag.table == model._meta.table_name, OverdueFlag.row_id == row_id)
            .order_by(OverdueFlag.raised_at, OverdueFlag.id).objects())


def active_counts(estate_ids: Iterable[int] | None = None) -> dict[str, int]:
    """{rule id: number of rows overdue now}, e.g. for the front-desk screen's counters."""
    query = active_flags(estate_ids=estate_ids).select(
        OverdueFlag.rule, fn.COUNT(OverdueFlag.id)).group_by(OverdueFlag.rule)
    return dict(query.tuples())
