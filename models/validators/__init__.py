"""Pure validation, normalisation and masking helpers for the customer-service desk.

One package, one module per kind of value: ids.py (resident ID, documents, masks, fake
numbers), phones.py, values.py (money, dates, formulas, hostile-input bounds); text.py holds
what they share. Import from the package: `from models.validators import clean_money`.

Everything here is standard-library only so it can be reused by forms, model hooks, importers,
exporters and tests without pulling in Flask, peewee or WTForms.

Conventions:

* ``clean_*`` functions return the normalised value or raise :class:`ValueError` whose message is
  Simplified Chinese and written for a front-desk clerk, so callers can show ``str(exc)`` as-is.
* ``is_*`` functions never raise for bad input; they return ``False``.
* ``mask_*`` functions never raise; they are used when rendering lists and exports.
* Input typed on Chinese keyboards often arrives in full-width form (``１３８``, ``－``, ``（）``),
  so every cleaner converts full-width ASCII to half-width before validating.
"""

from __future__ import annotations

from models.validators.ids import (
    DOC_TYPES,
    MIN_BIRTH_DATE,
    clean_document_number,
    clean_id_number,
    fake_id_number,
    fake_mobile,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
)
from models.validators.phones import (
    clean_landline,
    clean_mobile,
    clean_phone,
    clean_service_number,
    mask_phone,
    wecom_userid_problem,
)
from models.validators.values import (
    CONTROL_CHARS_RE,
    DATE_RANGE,
    INT_RANGES,
    MAX_MONEY,
    check_date_order,
    check_date_range,
    check_int_range,
    check_plain_text,
    clean_money,
    neutralise_formula,
)

__all__ = [
    "CONTROL_CHARS_RE",
    "DATE_RANGE",
    "DOC_TYPES",
    "INT_RANGES",
    "MAX_MONEY",
    "MIN_BIRTH_DATE",
    "check_date_order",
    "check_date_range",
    "check_int_range",
    "check_plain_text",
    "clean_document_number",
    "clean_id_number",
    "clean_landline",
    "clean_mobile",
    "clean_money",
    "clean_phone",
    "clean_service_number",
    "fake_id_number",
    "fake_mobile",
    "id_check_digit",
    "is_valid_id_number",
    "mask_id_number",
    "mask_phone",
    "wecom_userid_problem",
    "neutralise_formula",
]
