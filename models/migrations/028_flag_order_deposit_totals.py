"""Schema 028: a 超时 link reads its page from the rule's flags in the grid's order, and the
deposit ledger's totals are kept per estate and state as deposits change (#14).

A 超时 link (the front desk's line per rule) opens the register's grid filtered to the rule's
active flags, newest first. Migration 026's mechanism asked each row of the grid's order
whether it was flagged (EXISTS per row, for rules of 2,000 flags or more) and listed the
flagged ids otherwise (`id IN (…)`, collected and sorted); the work-order grid always listed
them. Either way a page's work followed where the flags lie: measured with
bench/pages_bench.py (a supervisor of ten estates, 100k → 1M demands) demand_callback ×1.67
on SQLite and ×1.91 on PostgreSQL, demand_invalid_notice ×1.87 / ×4.04 (their flags are old
or sparse in the newest-first order), work_order_callback ×2.27 / ×2.20, work_order_arrival
and work_order_completion ×1.4–1.8.

overdue_flag.row_order holds the flagged row's place in its grid's default order (demand:
received_at; temporary_pass: issued_at; work_order: dispatched_at — jobs.flags.ROW_ORDER),
copied when the sweep raises the flag and kept by it. overdue_flag_active_order (rule,
row_order, row_id) WHERE cleared_at IS NULL lists a rule's active flags in that order: the
link walks it backwards, joins each flag to its row and stops after the page, whatever the
number of flags and wherever their rows lie. The active flags of those registers get their
rows' values here; cleared flags are history and stay empty.

Written by hand in the style peewee-migrate generates.
"""

import peewee as pw
from peewee_migrate import Migrator

from models.migrations.index_steps import engine_sql

# As jobs.flags.ROW_ORDER was when this step was written.
ROW_ORDER = (("demand", "received_at"), ("temporary_pass", "issued_at"),
             ("work_order", "dispatched_at"))
INDEX = ("CREATE INDEX IF NOT EXISTS overdue_flag_active_order ON overdue_flag"
         " (rule, row_order, row_id) WHERE cleared_at IS NULL")

TOTALS_TABLE = (
    "CREATE TABLE deposit_total (estate_id INTEGER NOT NULL, state VARCHAR(16) NOT NULL,"
    " deposits INTEGER NOT NULL, amount_cents BIGINT NOT NULL, refunded_cents BIGINT NOT NULL,"
    " forfeited_cents BIGINT NOT NULL, PRIMARY KEY (estate_id, state))")
COLUMNS = "estate_id, state, deposits, amount_cents, refunded_cents, forfeited_cents"


def _cents(row: str, column: str) -> str:
    return f"CAST(ROUND({row}{column} * 100) AS BIGINT)"


MONEY = ("amount", "refunded_amount", "forfeited_amount")
FILL = (f"INSERT INTO deposit_total ({COLUMNS}) SELECT estate_id, state, COUNT(*), "
        + ", ".join(f"COALESCE(SUM({_cents('', m)}), 0)" for m in MONEY)
        + " FROM deposit GROUP BY estate_id, state")


def _add(row: str) -> str:
    """The row (NEW or OLD) added to its estate's and state's totals."""
    return (f"INSERT INTO deposit_total ({COLUMNS}) VALUES ({row}.estate_id, {row}.state, 1, "
            + ", ".join(_cents(f"{row}.", m) for m in MONEY)
            + ") ON CONFLICT (estate_id, state) DO UPDATE SET"
            " deposits = deposit_total.deposits + 1,"
            " amount_cents = deposit_total.amount_cents + excluded.amount_cents,"
            " refunded_cents = deposit_total.refunded_cents + excluded.refunded_cents,"
            " forfeited_cents = deposit_total.forfeited_cents + excluded.forfeited_cents")


def _take(row: str) -> str:
    """The row (OLD) taken out of its estate's and state's totals."""
    return ("UPDATE deposit_total SET deposits = deposits - 1, "
            + ", ".join(f"{c} = {c} - {_cents(f'{row}.', m)}" for c, m in zip(
                ("amount_cents", "refunded_cents", "forfeited_cents"), MONEY, strict=True))
            + f" WHERE estate_id = {row}.estate_id AND state = {row}.state")


WATCHED = "estate_id, state, amount, refunded_amount, forfeited_amount"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER deposit_total_ai AFTER INSERT ON deposit BEGIN {_add('new')}; END",
    f"CREATE TRIGGER deposit_total_ad AFTER DELETE ON deposit BEGIN {_take('old')}; END",
    f"CREATE TRIGGER deposit_total_au AFTER UPDATE OF {WATCHED} ON deposit"
    f" BEGIN {_take('old')}; {_add('new')}; END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION deposit_total_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" IF TG_OP <> 'INSERT' THEN {_take('OLD')}; END IF;"
    f" IF TG_OP <> 'DELETE' THEN {_add('NEW')}; END IF;"
    " RETURN NULL; END $$",
    f"CREATE TRIGGER deposit_total_keep AFTER INSERT OR DELETE OR UPDATE OF {WATCHED}"
    " ON deposit FOR EACH ROW EXECUTE FUNCTION deposit_total_keep()",
)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields('overdue_flag', row_order=pw.DateTimeField(null=True))
    for table, column in ROW_ORDER:
        migrator.sql(f'UPDATE overdue_flag SET row_order = (SELECT r."{column}" FROM "{table}" r'
                     f' WHERE r.id = overdue_flag.row_id) WHERE "table" = \'{table}\''
                     " AND cleared_at IS NULL")
    migrator.sql(INDEX)
    migrator.sql(TOTALS_TABLE)
    migrator.sql(FILL)
    engine_sql(migrator, database, sqlite=SQLITE_TRIGGERS, postgres=POSTGRES_TRIGGERS)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    engine_sql(migrator, database, sqlite=[
        f"DROP TRIGGER IF EXISTS {name}"
        for name in ("deposit_total_ai", "deposit_total_ad", "deposit_total_au")], postgres=(
        "DROP TRIGGER IF EXISTS deposit_total_keep ON deposit",
        "DROP FUNCTION IF EXISTS deposit_total_keep()"))
    migrator.sql("DROP TABLE IF EXISTS deposit_total")
    migrator.sql("DROP INDEX IF EXISTS overdue_flag_active_order")
    migrator.remove_fields('overdue_flag', 'row_order')
