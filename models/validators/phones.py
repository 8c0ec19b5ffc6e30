"""Mainland mobile numbers, landlines and service numbers."""

from __future__ import annotations

import re

from models.validators.text import _WHITESPACE_RE, N_, _as_text, _compact, _mask_middle, translated

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

_MSG_MOBILE = N_("手机号格式不正确：应为11位数字，以13至19开头，请核对后重新输入")
_MSG_PHONE = N_("电话号码格式不正确：手机号为11位（1开头），固话如 0755-88886666")


def clean_mobile(s: str | None) -> str:
    """Validate a mainland mobile number and return its 11 digits.

    Accepts spaces, hyphens and a leading ``+86``, ``0086`` or ``86`` country code
    (e.g. ``"+86 138-0013-8000"``). The result matches ``1[3-9]`` followed by 9 digits.
    """
    value = _compact(s).replace("-", "")
    if not value:
        raise ValueError(translated(N_("请输入手机号")))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        # Only strip a bare "86" when the rest is exactly a mobile number; otherwise an
        # 11-digit number that merely starts with 86 would be mangled.
        value = value[2:]
    if not _MOBILE_RE.fullmatch(value):
        raise ValueError(translated(_MSG_MOBILE))
    return value


def _split_landline(s: str | None) -> tuple[str, str, str]:
    """Parse a landline into ``(area, number, extension)``; raise ValueError if impossible."""
    text = _as_text(s).strip()
    if not text:
        raise ValueError(translated(N_("请输入固定电话号码")))
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
        raise ValueError(translated(_MSG_PHONE))
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
    raise ValueError(translated(_MSG_PHONE))


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
        raise ValueError(translated(N_("请输入服务电话号码")))
    hotline = _HOTLINE_RE.fullmatch(value)
    if hotline:
        return "-".join(hotline.groups())
    if _SERVICE_RE.fullmatch(value):
        return value
    raise ValueError(translated(N_("服务电话号码格式不正确，如 110、12345、95598 或 400-123-4567")))


def clean_phone(s: str | None) -> str:
    """Validate any contact number: mobile, landline or service number, tried in that order.

    Returns the same normalised form as the specific cleaner that accepted it.
    """
    if not _compact(s):
        raise ValueError(translated(N_("请输入电话号码")))
    for cleaner in (clean_mobile, clean_landline, clean_service_number):
        try:
            return cleaner(s)
        except ValueError:
            continue
    raise ValueError(translated(_MSG_PHONE))


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


# WeChat Work (企业微信) account ids: 1 to 64 of letters, digits and _ - @ . (the address book's
# rule for userid); compared case-insensitively by WeChat Work itself.
_WECOM_USERID_RE = re.compile(r"[A-Za-z0-9_\-@.]{1,64}")


def wecom_userid_problem(value: str | None) -> str:
    """Why a WeChat Work userid is unusable ("" when it is fine or left empty)."""
    value = (value or "").strip()
    if value and not _WECOM_USERID_RE.fullmatch(value):
        return translated(N_("企业微信账号只能由字母、数字和 _ - @ . 组成，最多 64 位"
                             "（见企业微信通讯录）"))
    return ""
