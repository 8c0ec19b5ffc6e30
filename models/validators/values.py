"""Money, date order, spreadsheet formula neutralisation and hostile-input bounds."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import overload

from models.validators.text import _T, N_, _as_text, translated

# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------

MAX_MONEY = Decimal("99999999.99")
_CENT = Decimal("0.01")
# A private context so a caller's global decimal settings cannot change how money is handled.
_MONEY_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
_MONEY_STRIP_RE = re.compile(r"[\s,¥￥元]")
_MONEY_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def clean_money(value: str | int | Decimal | None) -> Decimal:
    """Validate an amount in yuan and return it as a ``Decimal`` with exactly two places.

    Accepts ``str`` (``"¥1,000.00"``, ``"1000元"``, ``" 12.5 "``), ``int`` and ``Decimal``.
    ``float`` (and ``bool``) raise :class:`TypeError` because binary floats cannot hold cents
    exactly. The amount must be between 0 and 99,999,999.99 and have at most two decimal
    places; ``"1.005"`` is rejected rather than silently rounded.
    """
    if isinstance(value, bool | float):
        raise TypeError("金额不能使用浮点数，请传入字符串、整数或 Decimal")
    if value is None:
        raise ValueError(translated(N_("请输入金额")))
    if isinstance(value, str):
        text = _MONEY_STRIP_RE.sub("", _as_text(value))
        if not text:
            raise ValueError(translated(N_("请输入金额")))
        if not _MONEY_RE.fullmatch(text):
            raise ValueError(translated(N_("金额格式不正确，请输入数字，如 1000 或 1,000.50")))
        amount = Decimal(text)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise TypeError(f"金额类型不支持：{type(value).__name__}")

    if not amount.is_finite():
        raise ValueError(translated(N_("金额格式不正确，请输入数字，如 1000 或 1,000.50")))
    if amount < 0:
        raise ValueError(translated(N_("金额不能为负数")))
    # Range before precision: quantizing a huge Decimal would overflow the context.
    if amount > MAX_MONEY:
        raise ValueError(translated(N_("金额不能超过 99,999,999.99 元")))
    cents = amount.quantize(_CENT, context=_MONEY_CONTEXT)
    if cents != amount:
        raise ValueError(translated(N_("金额最多保留两位小数（精确到分），请核对后重新输入")))
    # "-0" passes the sign check; return a plain zero so it never prints as "-0.00".
    return cents.copy_abs() if cents == 0 else cents


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


def check_date_order(
    earlier: date | None,
    later: date | None,
    earlier_label: str,
    later_label: str,
) -> None:
    """Raise ``ValueError("<later_label>不能早于<earlier_label>")`` if ``later < earlier``.

    Does nothing when either value is ``None`` (optional fields) or when they are equal. Works
    with ``date`` and ``datetime``; when one is a ``datetime`` and the other a plain ``date``
    they are compared by calendar day, because Python refuses to order the two directly.
    """
    if earlier is None or later is None:
        return
    a, b = earlier, later
    if isinstance(a, datetime) != isinstance(b, datetime):
        a = a.date() if isinstance(a, datetime) else a
        b = b.date() if isinstance(b, datetime) else b
    if b < a:
        raise ValueError(translated(N_("{later}不能早于{earlier}")).format(later=later_label,
                                                                        earlier=earlier_label))


# ---------------------------------------------------------------------------
# Spreadsheet export safety
# ---------------------------------------------------------------------------

# OWASP "CSV Injection": cells beginning with these characters may be evaluated as formulas
# by Excel / LibreOffice / WPS when an exported file is opened.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@overload
def neutralise_formula(text: str) -> str: ...


@overload
def neutralise_formula(text: _T) -> _T: ...


def neutralise_formula(text: object) -> object:
    """Prefix ``'`` to a string that a spreadsheet could interpret as a formula.

    Strings starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading single
    quote; all other strings and all non-string values are returned unchanged.
    """
    if isinstance(text, str) and text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


# --- hostile input (#13 item 7) --------------------------------------------------------------

# Control characters other than tab, newline and carriage return (a textarea posts CRLF):
# PostgreSQL refuses NUL and openpyxl refuses the rest (FINDINGS), so no text may hold them.
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MSG_CONTROL = N_("不能包含控制字符（如从别处粘贴带入的不可见字符），请删除后重新输入")

# Column widths by kind: what the database can store, both on SQLite and PostgreSQL.
INT_RANGES = {
    "small": (-(2**15) + 1, 2**15 - 1),
    "int": (-(2**31) + 1, 2**31 - 1),
    "big": (-(2**63) + 1, 2**63 - 1),
}

# The dates any register accepts unless its rule knows a narrower window.
DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def check_plain_text(value: object) -> str | None:
    """The Chinese message for text holding a control character, or None when it is clean."""
    if isinstance(value, str) and CONTROL_CHARS_RE.search(value):
        return translated(_MSG_CONTROL)
    return None


def check_int_range(value: object, kind: str = "int") -> str | None:
    """The Chinese message for an integer outside its column's range, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    low, high = INT_RANGES[kind]
    if not low <= value <= high:
        return translated(N_("数值超出范围（应在 {low} 至 {high} 之间）")).format(low=low,
                                                                      high=high)
    return None


def check_date_range(value: object, low: date | None = None,
                     high: date | None = None) -> str | None:
    """The Chinese message for a date (or moment) outside [low, high], or None."""
    low, high = low or DATE_RANGE[0], high or DATE_RANGE[1]
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and not low <= value <= high:
        return translated(N_("日期应在 {low} 至 {high} 之间")).format(low=low.isoformat(),
                                                                 high=high.isoformat())
    return None
