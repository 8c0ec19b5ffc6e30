"""Pure validation, normalisation and masking helpers for the customer-service desk.

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

import random
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TypeVar, overload

__all__ = [
    "CONTROL_CHARS_RE",
    "DATE_RANGE",
    "INT_RANGES",
    "check_int_range",
    "check_plain_text",
    "DOC_TYPES",
    "MAX_MONEY",
    "MIN_BIRTH_DATE",
    "check_date_order",
    "check_date_range",
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
    "neutralise_formula",
]

_T = TypeVar("_T")

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


# ---------------------------------------------------------------------------
# Resident ID numbers (GB 11643-1999)
# ---------------------------------------------------------------------------

# Weights W_i = 2^(17-i) mod 11 for positions 1..17 (ISO 7064 MOD 11-2 as used by GB 11643).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character indexed by (weighted sum mod 11); 10 is written as the Roman numeral X.
_ID_CHECK_CHARS = "10X98765432"

_ID_SHAPE_RE = re.compile(r"[0-9]{17}[0-9X]")

# First two digits of the administrative-division code: mainland provinces, 71 Taiwan,
# 81/82 Hong Kong/Macau residence permits, 83 Taiwan residence permits, 91 foreigners'
# permanent residence cards in the 18-digit format.
_PROVINCE_CODES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)]
    + [*range(61, 66), 71, 81, 82, 83, 91]
)

# Nobody registering at a property desk was born before 1900; such a date is a typo.
MIN_BIRTH_DATE = date(1900, 1, 1)

_MSG_ID_EMPTY = "请输入身份证号码"
_MSG_ID_LENGTH = "身份证号码应为18位，当前输入为{n}位，请核对后重新输入"
_MSG_ID_CHARS = "身份证号码前17位只能是数字，最后一位是数字或字母X，请核对后重新输入"
_MSG_ID_REGION = "身份证号码前两位（省份代码）不正确，请核对后重新输入"
_MSG_ID_BIRTH_INVALID = "身份证号码中的出生日期（第7至14位）不是有效日期，请核对后重新输入"
_MSG_ID_BIRTH_FUTURE = "身份证号码中的出生日期晚于今天，请核对后重新输入"
_MSG_ID_BIRTH_TOO_EARLY = "身份证号码中的出生日期早于1900年，请核对后重新输入"
_MSG_ID_CHECK = "身份证号校验位不正确，请核对后重新输入"


def id_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 (ISO 7064 MOD 11-2) check character for 17 ASCII digits.

    The result is one of ``'0'``-``'9'`` or ``'X'``. Raises :class:`ValueError` if ``first17``
    is not exactly 17 ASCII digits.
    """
    # isascii() first: str.isdigit() also accepts full-width and superscript digits.
    if not (isinstance(first17, str) and len(first17) == 17 and first17.isascii()):
        raise ValueError("计算校验位需要17位数字")
    if not first17.isdigit():
        raise ValueError("计算校验位需要17位数字")
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def clean_id_number(s: str | None, *, today: date | None = None) -> str:
    """Validate an 18-character mainland resident ID number and return it normalised.

    Whitespace is removed, full-width characters are converted and a trailing ``x`` is
    upper-cased. Checks, in order: length, characters, province code, birth date (a real
    calendar date, not before 1900, not after ``today`` which defaults to the office's current
    date in Asia/Shanghai) and the check digit. Each failure raises :class:`ValueError` with its
    own Chinese message.
    """
    value = _compact(s).upper()
    if not value:
        raise ValueError(_MSG_ID_EMPTY)
    if len(value) != 18:
        raise ValueError(_MSG_ID_LENGTH.format(n=len(value)))
    if not _ID_SHAPE_RE.fullmatch(value):
        raise ValueError(_MSG_ID_CHARS)
    if int(value[:2]) not in _PROVINCE_CODES:
        raise ValueError(_MSG_ID_REGION)
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError(_MSG_ID_BIRTH_INVALID) from None
    if birth < MIN_BIRTH_DATE:
        raise ValueError(_MSG_ID_BIRTH_TOO_EARLY)
    if birth > (today or _office_today()):
        raise ValueError(_MSG_ID_BIRTH_FUTURE)
    if id_check_digit(value[:17]) != value[17]:
        raise ValueError(_MSG_ID_CHECK)
    return value


def is_valid_id_number(s: str | None, *, today: date | None = None) -> bool:
    """Return ``True`` if :func:`clean_id_number` accepts ``s``; never raises."""
    try:
        clean_id_number(s, today=today)
    except (ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------------------
# Identity documents
# ---------------------------------------------------------------------------

DOC_TYPES: list[tuple[str, str]] = [("resident_id", "居民身份证"), ("other", "其他证件")]

_OTHER_DOC_RE = re.compile(r"[A-Z0-9-]{4,32}")


def _clean_other_document(s: str | None) -> str:
    value = _compact(s).upper()
    if not value:
        raise ValueError("请输入证件号码")
    if not 4 <= len(value) <= 32:
        raise ValueError(f"证件号码长度应为4至32位，当前输入为{len(value)}位，请核对后重新输入")
    if not _OTHER_DOC_RE.fullmatch(value):
        raise ValueError("证件号码只能包含英文字母、数字和短横线“-”，请核对后重新输入")
    return value


_DOC_CLEANERS: dict[str, Callable[[str | None], str]] = {
    "resident_id": clean_id_number,
    "other": _clean_other_document,
}


def clean_document_number(doc_type: str, s: str | None) -> str:
    """Validate a document number according to its type (see :data:`DOC_TYPES`).

    ``resident_id`` delegates to :func:`clean_id_number`. ``other`` (passport, Hong Kong/Macau
    permit, ...) accepts 4-32 ASCII letters, digits or hyphens after removing whitespace and
    returns it upper-cased. An unknown ``doc_type`` raises :class:`ValueError`.
    """
    cleaner = _DOC_CLEANERS.get(doc_type)
    if cleaner is None:
        raise ValueError("证件类型不正确，请从列表中选择")
    return cleaner(s)


# ---------------------------------------------------------------------------
# Telephone numbers
# ---------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
# Chinese area codes are 010 and 020-029 (three digits) or 0310-0999 (four digits), so the
# split between area code and local number is unambiguous even without a separator.
_LANDLINE_RE = re.compile(r"(010|02[0-9]|0[3-9][0-9]{2})([0-9]{7,8})")
# An extension written with an explicit marker: 转 / ext / ext. / x / 分机, optional separators.
_EXT_MARKER_RE = re.compile(r"^(.*?)[\s-]*(?:转|分机|ext\.?|x)[\s.:-]*([0-9]{1,6})$", re.I)
_BRACKETS_RE = re.compile(r"[()\[\]]")
_SERVICE_RE = re.compile(
    r"1[12][0-9]"  # 110 police, 119 fire, 120 ambulance, 122 traffic, 114 directory
    r"|1[0-9]{4}"  # 12345 citizen hotline, 12315 consumer complaints, 10086 carriers
    r"|9[56][0-9]{3,6}"  # 95598 State Grid, 95588 ICBC, 96xxx local public services
)
_HOTLINE_RE = re.compile(r"([48]00)([0-9]{3})([0-9]{4})")  # 400/800 company hotlines

_MSG_PHONE = "电话号码格式不正确：手机号为11位（1开头），固话如 0755-88886666"


def clean_mobile(s: str | None) -> str:
    """Validate a mainland mobile number and return its 11 digits.

    Accepts spaces, hyphens and a leading ``+86``, ``0086`` or ``86`` country code
    (e.g. ``"+86 138-0013-8000"``). The result matches ``1[3-9]`` followed by 9 digits.
    """
    value = _compact(s).replace("-", "")
    if not value:
        raise ValueError("请输入手机号")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        # Only strip a bare "86" when the rest is exactly a mobile number; otherwise an
        # 11-digit number that merely starts with 86 would be mangled.
        value = value[2:]
    if not _MOBILE_RE.fullmatch(value):
        raise ValueError("手机号格式不正确：应为11位数字，以13至19开头，请核对后重新输入")
    return value


def _split_landline(s: str | None) -> tuple[str, str, str]:
    """Parse a landline into ``(area, number, extension)``; raise ValueError if impossible."""
    text = _as_text(s).strip()
    if not text:
        raise ValueError("请输入固定电话号码")
    ext = ""
    marked = _EXT_MARKER_RE.match(text)
    if marked:
        text, ext = marked.group(1), marked.group(2)
    text = _BRACKETS_RE.sub("", _WHITESPACE_RE.sub("", text))
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            # International form drops the trunk prefix: +86 10 12345678 means 010-12345678.
            text = text[len(prefix) :].lstrip("-")
            if not text.startswith("0"):
                text = "0" + text
            break

    parts = text.split("-")
    if any(not p.isascii() or not p.isdigit() for p in parts):
        raise ValueError(_MSG_PHONE)
    candidates: list[tuple[str, str]] = []
    if not ext and len(parts) >= 2 and len(parts[-1]) <= 6:
        # "010-12345678-123": a trailing group is an extension only if what precedes it is
        # already a complete number; "0755-8888-6666" is a grouped number instead.
        candidates.append(("".join(parts[:-1]), parts[-1]))
    candidates.append(("".join(parts), ext))
    for digits, extension in candidates:
        m = _LANDLINE_RE.fullmatch(digits)
        if m:
            return m.group(1), m.group(2), extension
    raise ValueError(_MSG_PHONE)


def clean_landline(s: str | None) -> str:
    """Validate a fixed-line number and return ``"AREA-NUMBER"`` or ``"AREA-NUMBER-EXT"``.

    The area code is ``0`` plus 2-3 digits and is mandatory; the local number has 7-8 digits.
    Accepts spaces, hyphens, brackets (``"(021)62345678"``, ``"0755 8888 6666"``), a ``+86`` /
    ``0086`` prefix and an extension introduced by ``转``, ``分机``, ``ext``, ``x`` or a final
    hyphen (``"010-12345678-123"``).
    """
    area, number, ext = _split_landline(s)
    return f"{area}-{number}-{ext}" if ext else f"{area}-{number}"


def clean_service_number(s: str | None) -> str:
    """Validate a public-service or hotline number and return it normalised.

    Accepts 3-digit emergency/service numbers starting 11 or 12 (110, 119, 120, 122), 5-digit
    numbers starting with 1 (12345, 10086), 95/96 numbers of 5-8 digits (95598) returned as bare
    digits, and 400/800 hotlines returned as ``"400-XXX-XXXX"``.
    """
    value = _compact(s).replace("-", "")
    if not value:
        raise ValueError("请输入服务电话号码")
    hotline = _HOTLINE_RE.fullmatch(value)
    if hotline:
        return "-".join(hotline.groups())
    if _SERVICE_RE.fullmatch(value):
        return value
    raise ValueError("服务电话号码格式不正确，如 110、12345、95598 或 400-123-4567")


def clean_phone(s: str | None) -> str:
    """Validate any contact number: mobile, landline or service number, tried in that order.

    Returns the same normalised form as the specific cleaner that accepted it.
    """
    if not _compact(s):
        raise ValueError("请输入电话号码")
    for cleaner in (clean_mobile, clean_landline, clean_service_number):
        try:
            return cleaner(s)
        except ValueError:
            continue
    raise ValueError(_MSG_PHONE)


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
        raise ValueError("请输入金额")
    if isinstance(value, str):
        text = _MONEY_STRIP_RE.sub("", _as_text(value))
        if not text:
            raise ValueError("请输入金额")
        if not _MONEY_RE.fullmatch(text):
            raise ValueError("金额格式不正确，请输入数字，如 1000 或 1,000.50")
        amount = Decimal(text)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise TypeError(f"金额类型不支持：{type(value).__name__}")

    if not amount.is_finite():
        raise ValueError("金额格式不正确，请输入数字，如 1000 或 1,000.50")
    if amount < 0:
        raise ValueError("金额不能为负数")
    # Range before precision: quantizing a huge Decimal would overflow the context.
    if amount > MAX_MONEY:
        raise ValueError("金额不能超过 99,999,999.99 元")
    cents = amount.quantize(_CENT, context=_MONEY_CONTEXT)
    if cents != amount:
        raise ValueError("金额最多保留两位小数（精确到分），请核对后重新输入")
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
        raise ValueError(f"{later_label}不能早于{earlier_label}")


# ---------------------------------------------------------------------------
# Masking for lists, printouts and exports
# ---------------------------------------------------------------------------


def _mask_middle(value: str, keep_head: int, keep_tail: int) -> str:
    if len(value) <= keep_head + keep_tail:
        # Too short to reveal anything safely: hide it all rather than show it in full.
        return "*" * len(value)
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[-keep_tail:]


def mask_id_number(s: str | None) -> str:
    """Mask a document number for display.

    18 characters (after removing whitespace): first 6 and last 4 kept, 8 asterisks between
    (``"110101********1234"``). Other lengths keep the first 2 and last 2 characters; values of
    4 characters or fewer are masked completely. ``None`` or empty returns ``""``. Never raises
    for string input and never reveals more than 10 characters.
    """
    if s is None:
        return ""
    value = _compact(s).upper()
    if len(value) == 18:
        return _mask_middle(value, 6, 4)
    return _mask_middle(value, 2, 2)


def mask_phone(s: str | None) -> str:
    """Mask a contact number for display.

    Mobile: ``"138****5678"``. Landline: area code and the last 4 digits of the local number
    (``"0755-****6666"``; the extension is dropped). Public service numbers (110, 95598, 400
    hotlines) are not personal and are returned normalised. Anything unparseable keeps its first
    and last 2 characters. ``None`` or empty returns ``""``.
    """
    if s is None or not _compact(s):
        return ""
    try:
        return _mask_middle(clean_mobile(s), 3, 4)
    except ValueError:
        pass
    try:
        area, number, _ext = _split_landline(s)
    except ValueError:
        pass
    else:
        return f"{area}-" + "*" * (len(number) - 4) + number[-4:]
    try:
        return clean_service_number(s)
    except ValueError:
        pass
    return _mask_middle(_compact(s), 2, 2)


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


# ---------------------------------------------------------------------------
# Deterministic fake data for demos and tests
# ---------------------------------------------------------------------------

_FAKE_MOBILE_PREFIXES = ("138", "139", "150", "186", "199")
_MALE = frozenset({"male", "m", "男"})
_FEMALE = frozenset({"female", "f", "女"})


def fake_id_number(
    rng: random.Random,
    *,
    region: str = "440305",
    birth_from: date = date(1950, 1, 1),
    birth_to: date = date(2004, 12, 31),
    sex: str | None = None,
) -> str:
    """Return a resident ID number that passes :func:`clean_id_number`, drawn only from ``rng``.

    ``region`` is the 6-digit administrative code (default 440305, Shenzhen Nanshan). The birth
    date is uniform over ``birth_from``..``birth_to`` inclusive. ``sex`` is ``"male"``/``"m"``/
    ``"男"``, ``"female"``/``"f"``/``"女"`` or ``None`` for random; it sets the parity of the
    17th digit as the standard requires (odd = male). Bad arguments raise :class:`ValueError`.
    """
    if not re.fullmatch(r"[0-9]{6}", region) or int(region[:2]) not in _PROVINCE_CODES:
        raise ValueError("地区代码应为6位数字，且前两位是有效的省份代码")
    birth_from = birth_from.date() if isinstance(birth_from, datetime) else birth_from
    birth_to = birth_to.date() if isinstance(birth_to, datetime) else birth_to
    if birth_from > birth_to:
        raise ValueError("出生日期范围不正确：起始日期晚于结束日期")
    if birth_from < MIN_BIRTH_DATE or birth_to > _office_today():
        raise ValueError("出生日期范围应在1900年1月1日至今天之间")

    if sex is None:
        male = rng.random() < 0.5
    elif sex.lower() in _MALE:
        male = True
    elif sex.lower() in _FEMALE:
        male = False
    else:
        raise ValueError("性别参数不正确：应为 male/female、m/f、男/女 或 None")

    birth = date.fromordinal(rng.randint(birth_from.toordinal(), birth_to.toordinal()))
    # Sequence 001-999; odd for men, even for women. Starting the even range at 2 avoids the
    # never-issued sequence 000.
    sequence = rng.randrange(1, 1000, 2) if male else rng.randrange(2, 1000, 2)
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def fake_mobile(rng: random.Random) -> str:
    """Return a valid 11-digit mobile number (prefix 138/139/150/186/199) drawn from ``rng``."""
    return rng.choice(_FAKE_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# --- hostile input (#13 item 7) --------------------------------------------------------------

# Control characters other than tab, newline and carriage return (a textarea posts CRLF):
# PostgreSQL refuses NUL and openpyxl refuses the rest (FINDINGS), so no text may hold them.
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MSG_CONTROL = "不能包含控制字符（如从别处粘贴带入的不可见字符），请删除后重新输入"

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
        return _MSG_CONTROL
    return None


def check_int_range(value: object, kind: str = "int") -> str | None:
    """The Chinese message for an integer outside its column's range, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    low, high = INT_RANGES[kind]
    if not low <= value <= high:
        return f"数值超出范围（应在 {low} 至 {high} 之间）"
    return None


def check_date_range(value: object, low: date | None = None,
                     high: date | None = None) -> str | None:
    """The Chinese message for a date (or moment) outside [low, high], or None."""
    low, high = low or DATE_RANGE[0], high or DATE_RANGE[1]
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and not low <= value <= high:
        return f"日期应在 {low.isoformat()} 至 {high.isoformat()} 之间"
    return None
