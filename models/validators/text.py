"""Shared text helpers of the validators: full-width to half-width, whitespace, the office day."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar

_T = TypeVar("_T")


# Messages are Chinese, marked for the catalogue here and translated by the app's gettext,
# which models.i18n plugs in: the validators themselves stay standard-library only.
def N_(text: str) -> str:  # noqa: N802 (gettext's name for "mark only")
    """Mark a message for the catalogue (#12 item 2)."""
    return text


translator = None


def translated(message: str) -> str:
    """The message in the reader's language once the app's translator is plugged in."""
    return translator(message) if translator is not None else message

# ---------------------------------------------------------------------------
# Shared text normalisation
# ---------------------------------------------------------------------------

# Full-width ASCII block U+FF01..U+FF5E maps one-to-one onto U+0021..U+007E; U+3000 is the
# ideographic space. Chinese IMEs produce these when the clerk forgets to switch to half-width.
_HALFWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)}
_HALFWIDTH[0x3000] = 0x20
# Dash look-alikes (hyphen, non-breaking hyphen, figure/en/em dash, horizontal bar, minus sign)
# pasted from Word or WeChat should behave like an ASCII hyphen in phone and document numbers.
for _cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212):
    _HALFWIDTH[_cp] = ord("-")
del _cp

_WHITESPACE_RE = re.compile(r"\s+")


# "Today" is the office's calendar day (Asia/Shanghai, UTC+8, no DST since 1991), not the
# server's: a UTC host would otherwise call a baby born this Shanghai morning "born tomorrow".
# A fixed offset avoids depending on the tzdata package being installed.
_OFFICE_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def _office_today() -> date:
    return datetime.now(_OFFICE_TZ).date()


def _as_text(value: object) -> str:
    """Return ``value`` as half-width text; ``None`` becomes ``""`` so callers report "empty"."""
    if value is None:
        return ""
    if not isinstance(value, str):
        # A non-string here is a programming error, not a clerk's typo, so it is not a ValueError.
        raise TypeError(f"expected str or None, got {type(value).__name__}")
    return value.translate(_HALFWIDTH)


def _compact(value: object) -> str:
    """Half-width text with all whitespace removed."""
    return _WHITESPACE_RE.sub("", _as_text(value))


def _mask_middle(value: str, keep_head: int, keep_tail: int) -> str:
    if len(value) <= keep_head + keep_tail:
        # Too short to reveal anything safely: hide it all rather than show it in full.
        return "*" * len(value)
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[-keep_tail:]
