"""Schema 025: indexes that let the register grids stop after their page (#14).

Measured with bench/pages_bench.py (SQLite, a supervisor of all ten estates, 100k → 1M demands)
before this step, these pages grew with their register (1M/100k ratio above ×1.3):

- a register number searched as a substring (`LIKE '%WX-B-00000123%'` across every searchable
  column) read the whole register. The grids now look a number up on its column
  (views/grid.py `column_number_search`); the other registers' (estate, number) indexes serve
  it, work orders get work_order (estate_id, voided, number): without statistics (production's
  SQLite never runs ANALYZE) the planner preferred work_order_open's two equalities to the
  number index's one;
- the work-order grid's default order, open orders first (CASE state), sorted every order of
  the estates: work_order (voided, CASE WHEN state = 'completed' THEN 1 ELSE 0 END,
  dispatched_at DESC) holds that order (the grid writes the CASE with the same literals, which
  SQLite needs to match an expression index); its sort by completed_at: work_order (voided,
  completed_at);
- the callback grid's filter 满意=否 and its sort by 满意: callback (voided, satisfied, called_at,
  estate_id); the estate makes it cover the grid's capped count too, which otherwise walked
  callback_month_review (estate first) looking for the 5 % unsatisfied (47 ms at 1M);
- the deposit ledger's default order (created_at), its state filter and its sort by amount:
  deposit (created_at), deposit (state, created_at), deposit (amount) (the ledger is never
  voided); the ledger's totals per estate above the grid (Deposit.totals, R-DEP) sum every
  deposit of the estates on each page view: deposit (estate_id, state, amount,
  refunded_amount, forfeited_amount, refundable_on) lets them be summed from the index alone
  (still every deposit: a total kept as deposits change would be flat, not done here);
- the decoration grid's default order (applied_at) and its state filter: decoration (voided,
  applied_at), decoration (voided, state, applied_at).

Declared beside each model under these names. Written by hand in the style peewee-migrate
generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("work_order_number_search", "work_order", ("estate_id", "voided", "number")),
    ("work_order_list_order", "work_order",
     ("voided", "(CASE WHEN state = 'completed' THEN 1 ELSE 0 END)", "dispatched_at DESC")),
    ("work_order_completed_order", "work_order", ("voided", "completed_at")),
    ("callback_satisfied_order", "callback", ("voided", "satisfied", "called_at", "estate_id")),
    ("deposit_list_order", "deposit", ("created_at",)),
    ("deposit_state_order", "deposit", ("state", "created_at")),
    ("deposit_amount_order", "deposit", ("amount",)),
    ("deposit_ledger_totals", "deposit", ("estate_id", "state", "amount", "refunded_amount",
                                          "forfeited_amount", "refundable_on")),
    ("decoration_list_order", "decoration", ("voided", "applied_at")),
    ("decoration_state_order", "decoration", ("voided", "state", "applied_at")),
)

migrate, rollback = index_migration(INDEXES)
