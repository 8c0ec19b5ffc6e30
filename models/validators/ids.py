"""Resident ID numbers (GB 11643) and other identity documents, their masks, fake ones."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date, datetime

from models.validators.text import N_, _compact, _mask_middle, _office_today, translated

_MSG_DOC_LENGTH = N_("证件号码长度应为4至32位，当前输入为{count}位，请核对后重新输入")
_MSG_DOC_CHARS = N_("证件号码只能包含英文字母、数字和短横线“-”，请核对后重新输入")

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

_MSG_ID_EMPTY = N_("请输入身份证号码")
_MSG_ID_LENGTH = N_("身份证号码应为18位，当前输入为{n}位，请核对后重新输入")
_MSG_ID_CHARS = N_("身份证号码前17位只能是数字，最后一位是数字或字母X，请核对后重新输入")
_MSG_ID_REGION = N_("身份证号码前两位（省份代码）不正确，请核对后重新输入")
_MSG_ID_BIRTH_INVALID = N_("身份证号码中的出生日期（第7至14位）不是有效日期，请核对后重新输入")
_MSG_ID_BIRTH_FUTURE = N_("身份证号码中的出生日期晚于今天，请核对后重新输入")
_MSG_ID_BIRTH_TOO_EARLY = N_("身份证号码中的出生日期早于1900年，请核对后重新输入")
_MSG_ID_CHECK = N_("身份证号校验位不正确，请核对后重新输入")


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
        raise ValueError(translated(_MSG_ID_EMPTY))
    if len(value) != 18:
        raise ValueError(translated(_MSG_ID_LENGTH).format(n=len(value)))
    if not _ID_SHAPE_RE.fullmatch(value):
        raise ValueError(translated(_MSG_ID_CHARS))
    if int(value[:2]) not in _PROVINCE_CODES:
        raise ValueError(translated(_MSG_ID_REGION))
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError(translated(_MSG_ID_BIRTH_INVALID)) from None
    if birth < MIN_BIRTH_DATE:
        raise ValueError(translated(_MSG_ID_BIRTH_TOO_EARLY))
    if birth > (today or _office_today()):
        raise ValueError(translated(_MSG_ID_BIRTH_FUTURE))
    if id_check_digit(value[:17]) != value[17]:
        raise ValueError(translated(_MSG_ID_CHECK))
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

DOC_TYPES: list[tuple[str, str]] = [("resident_id", N_("居民身份证")), ("other", N_("其他证件"))]

_OTHER_DOC_RE = re.compile(r"[A-Z0-9-]{4,32}")


def _clean_other_document(s: str | None) -> str:
    value = _compact(s).upper()
    if not value:
        raise ValueError(translated(N_("请输入证件号码")))
    if not 4 <= len(value) <= 32:
        raise ValueError(translated(_MSG_DOC_LENGTH).format(count=len(value)))
    if not _OTHER_DOC_RE.fullmatch(value):
        raise ValueError(translated(_MSG_DOC_CHARS))
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
        raise ValueError(translated(N_("证件类型不正确，请从列表中选择")))
    return cleaner(s)


# ---------------------------------------------------------------------------
# Masking for lists, printouts and exports
# ---------------------------------------------------------------------------


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
