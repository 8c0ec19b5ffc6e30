"""Money as staff see it: yuan with two decimals on screen, 人民币大写 on receipts (R-DEP-1)."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def yuan(amount: Decimal | None) -> str:
    """¥1,000.00 — how money is shown to staff."""
    return "" if amount is None else f"¥{amount:,.2f}"


DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿")


def amount_in_words(amount: Decimal) -> str:
    """人民币大写 for receipts: Decimal("1050.50") → 壹仟零伍拾元伍角 (as receipts are written)."""
    amount = amount.quantize(CENT)
    whole, cents = divmod(int(amount * 100), 100)
    jiao, fen = divmod(cents, 10)
    words = _integer_words(whole) + "元" if whole else ""
    if not jiao and not fen:
        return (words or "零元") + "整"
    if jiao:
        words += DIGITS[jiao] + "角"
    elif whole:
        words += "零"
    if fen:
        words += DIGITS[fen] + "分"
    return words


def _integer_words(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    words, zero_pending = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(words)
            continue
        if words and (zero_pending or group < 1000):
            words += "零"
        words += _group_words(group) + BIG_UNITS[index]
        zero_pending = False
    return words


def _group_words(group: int) -> str:
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = group // 10 ** position % 10
        if digit:
            if zero and text:
                text += "零"
            text += DIGITS[digit] + SMALL_UNITS[position]
            zero = False
        else:
            zero = True
    return text
