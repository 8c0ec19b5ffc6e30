"""How a step refuses what it was given (#12 item 3): every refusal at once, and a rehearsal.

A step (a model method a row action calls) checks everything it was given and raises one
RuleError with every message, each under its field: `gather` collects a check that raises into
the step's dict of messages. `rehearsal` runs a step, or a form's rules, for what they refuse
and keeps nothing they wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from models.base import RuleError, db, write_transaction


def gather(errors: dict[str, str], check: Callable[..., Any], *args, **kwargs) -> Any:
    """`check(*args, **kwargs)`'s value; or None when it refuses, its messages added to
    `errors` (a field keeps its first). A step gathers every refusal of what it was given
    and raises them together, so one submit reports every problem (#12 item 3)."""
    try:
        return check(*args, **kwargs)
    except RuleError as error:
        if not error.gathered:
            raise
        for name, message in error.errors.items():
            errors.setdefault(name, message)
        return None


@contextmanager
def rehearsal():
    """Run a block for what its rules refuse (the RuleError it raises) and keep nothing it
    wrote: a step tried before its approver is asked (models.approvals.trial), a form's rules
    tried on what a refused form holds (views.forms.refused_form_rules, #12 item 3)."""
    with write_transaction():
        with db.atomic() as attempt:
            yield  # a refusal (or any error) rolls back on its way out
            attempt.rollback()
