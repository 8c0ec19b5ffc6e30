"""转整改: turning what another register found wrong into rectification items (R-FRONT-2).

A move-in's rectification list (整改单, R-MOVE-1 step 6), a decoration acceptance's defects
(R-DECO-3), an emergency's remedial and preventive measures (R-EMG-3/4) and an owner's demand or
complaint (R-DEM) each become items with one action on the row: one item per line, prefilled
from the row, the unit and place carried over, each linked back to its row by a foreign key.
The source row itself is not changed; a row is transferred once (a wrong transfer is undone by
voiding its items).
"""

from __future__ import annotations

from flask_babel import gettext

from models.base import RuleError, write_transaction
from models.movein import DONE
from models.rectification import (
    MAX_ITEMS,
    SOURCE_LABELS,
    SOURCE_MODELS,
    Rectification,
    split_items,
)
from models.register import save_record

_KINDS = {model: kind for kind, model in SOURCE_MODELS.items()}


def source_kind(row) -> str:
    return _KINDS[type(row)]


def suggested_text(row) -> str:
    """What the row says needs putting right, one item per line."""
    kind = source_kind(row)
    if kind == "move_in":
        text = row.rectification_items
    elif kind == "decoration":
        text = row.defects
    elif kind == "emergency":
        text = "\n".join(t for t in (row.remedial_measures, row.preventive_measures) if t)
    else:
        text = row.description
    return "\n".join(split_items(text))


def suggested_location(row) -> str:
    """The place the items are at when the row names no unit (an emergency's place)."""
    return (getattr(row, "place", "") or "")[:100]


def transferred(row):
    """The live items already made from this row."""
    field = getattr(Rectification, source_kind(row))
    return Rectification.live().where(field == row.id)


def _not_ready(row) -> str | None:
    """Why this row has nothing to transfer yet (None: it has)."""
    kind = source_kind(row)
    if kind == "move_in" and row.current_step < DONE:
        return "入伙第6步验房后才有整改单"
    if kind == "decoration" and row.acceptance_result != "defects":
        return "装修验收不合格（需整改）时才能转整改"
    if kind == "emergency" and row.state == "open":
        return "事态稳定、定出措施后才能转整改"
    if kind == "demand" and row.valid is False:
        return "已判定无效的需求不能转整改"
    return None


def can_transfer(row) -> bool:
    """Whether the 转整改 button shows: live, ready, something to transfer, not done yet."""
    return (not getattr(row, "voided", False) and _not_ready(row) is None
            and bool(suggested_text(row)) and not transferred(row).exists())


def from_source(row, user, *, items: str, location: str = "") -> list[Rectification]:
    """Make one item per line of `items` from `row`, linked back to it (one transaction)."""
    kind = source_kind(row)
    row.require_state(doing=gettext("转整改"))
    problem = _not_ready(row)
    if problem:
        raise RuleError({"": problem})
    lines = split_items(items)
    if not lines:
        raise RuleError({"items": gettext("请逐行填写整改项目")})
    if len(lines) > MAX_ITEMS:
        raise RuleError({"items": gettext("一次最多转 %(MAX_ITEMS)s 项", MAX_ITEMS=MAX_ITEMS)})
    with write_transaction():
        done = [item.number for item in transferred(row).order_by(Rectification.id)]
        if done:
            raise RuleError({"": gettext("已转整改（%(value)s），不能重复转入",
                                         value='、'.join(done))})
        unit_id = getattr(row, "unit_id", None)
        return [save_record(Rectification(
            estate=row.estate_id, source=kind, unit=unit_id,
            location=(location or "").strip() or ("" if unit_id else suggested_location(row)),
            description=line, **{kind: row.id}), user) for line in lines]


def source_label(row) -> str:
    return SOURCE_LABELS[source_kind(row)]
