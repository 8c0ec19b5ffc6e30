"""Behavioural tests for models.validators, values part: phones, money, dates, masks, formulas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.validators import (
    check_date_order,
    clean_landline,
    clean_mobile,
    clean_money,
    clean_phone,
    clean_service_number,
    mask_id_number,
    mask_phone,
    neutralise_formula,
)

# No example database: the run must not leave a .hypothesis/ directory in the tree.
# No deadline: tests never assert on wall-clock time.
PROPERTY = settings(database=None, deadline=None, max_examples=300)
PHONE_MSG = "电话号码格式不正确：手机号为11位（1开头），固话如 0755-88886666"

# --- Telephone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("19912345678", "19912345678"),
    ],
)
def test_clean_mobile_normalisation(typed: str, stored: str) -> None:
    assert clean_mobile(typed) == stored


@pytest.mark.parametrize(
    "typed", ["12800138000", "1380013800", "138001380001", "23800138000", "1380013800a"]
)
def test_clean_mobile_rejects(typed: str) -> None:
    with pytest.raises(ValueError, match="手机号格式不正确：应为11位数字"):
        clean_mobile(typed)


def test_clean_mobile_empty() -> None:
    with pytest.raises(ValueError, match="请输入手机号"):
        clean_mobile("  ")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0755 8888 6666", "0755-88886666"),
        ("0755-8888-6666", "0755-88886666"),
        ("(021)62345678", "021-62345678"),
        ("（021）62345678", "021-62345678"),
        ("0571-8765432", "0571-8765432"),  # 7-digit local number
        ("010-12345678-123", "010-12345678-123"),
        ("010-12345678转123", "010-12345678-123"),
        ("010 12345678 转 8001", "010-12345678-8001"),
        ("021-62345678 ext. 88", "021-62345678-88"),
        ("021-62345678x88", "021-62345678-88"),
        ("+86 10 12345678", "010-12345678"),
        ("+86-755-88886666", "0755-88886666"),
    ],
)
def test_clean_landline_normalisation(typed: str, stored: str) -> None:
    assert clean_landline(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["88886666", "0755-123456", "010-123456789", "011-12345678", "0755-8888666a", "010--"],
)
def test_clean_landline_rejects(typed: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        clean_landline(typed)
    assert str(excinfo.value) == PHONE_MSG


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("110", "110"),
        ("119", "119"),
        ("120", "120"),
        ("12345", "12345"),
        ("95598", "95598"),
        ("400 123 4567", "400-123-4567"),
        ("800-810-8888", "800-810-8888"),
    ],
)
def test_clean_service_number(typed: str, stored: str) -> None:
    assert clean_service_number(typed) == stored


@pytest.mark.parametrize("typed", ["999", "1234", "13800138000", "4001234"])
def test_clean_service_number_rejects(typed: str) -> None:
    with pytest.raises(ValueError, match="服务电话号码格式不正确"):
        clean_service_number(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+86 138 0013 8000", "13800138000"),
        ("0755 8888 6666", "0755-88886666"),
        ("(021)62345678转5", "021-62345678-5"),
        ("12345", "12345"),
        ("110", "110"),
        ("95598", "95598"),
    ],
)
def test_clean_phone_accepts_any_kind(typed: str, stored: str) -> None:
    assert clean_phone(typed) == stored


@pytest.mark.parametrize("typed", ["1380013800", "88886666", "abc", "12800138000", "0"])
def test_clean_phone_message_tells_both_formats(typed: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        clean_phone(typed)
    assert str(excinfo.value) == PHONE_MSG


def test_clean_phone_empty() -> None:
    with pytest.raises(ValueError, match="请输入电话号码"):
        clean_phone("")


# --- Money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (0, "0.00"),
        ("0", "0.00"),
        ("-0", "0.00"),  # never shows as -0.00
        ("0.01", "0.01"),
        (Decimal("0.01"), "0.01"),
        ("¥1,000.00", "1000.00"),
        ("￥ 1,000.5", "1000.50"),
        ("1000元", "1000.00"),
        ("１，２３４．５６", "1234.56"),  # full-width IME input
        ("1.000", "1.00"),  # exact, only written with extra zeros
        (".5", "0.50"),
        (Decimal("1E+3"), "1000.00"),
        (99999999, "99999999.00"),
        ("99,999,999.99", "99999999.99"),
    ],
)
def test_clean_money_accepts(typed: str | int | Decimal, stored: str) -> None:
    result = clean_money(typed)
    assert isinstance(result, Decimal)
    assert str(result) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1.005", "金额最多保留两位小数（精确到分），请核对后重新输入"),
        (Decimal("0.001"), "金额最多保留两位小数"),
        ("1.0050", "金额最多保留两位小数"),
        ("-0.01", "金额不能为负数"),
        (-1, "金额不能为负数"),
        (Decimal("-5"), "金额不能为负数"),
        ("100000000", "金额不能超过 99,999,999.99 元"),
        ("99999999.991", "金额不能超过"),
        (Decimal("1E+100"), "金额不能超过"),
        ("", "请输入金额"),
        (None, "请输入金额"),
        ("¥", "请输入金额"),
        ("abc", "金额格式不正确"),
        ("1.2.3", "金额格式不正确"),
        ("1e3", "金额格式不正确"),
        (Decimal("NaN"), "金额格式不正确"),
        (Decimal("Infinity"), "金额格式不正确"),
    ],
)
def test_clean_money_rejects(typed: str | int | Decimal | None, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        clean_money(typed)


@pytest.mark.parametrize("typed", [1.0, 0.1, True])
def test_clean_money_refuses_float_and_bool(typed: float) -> None:
    with pytest.raises(TypeError, match="浮点数"):
        clean_money(typed)


def test_clean_money_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        clean_money([1])  # type: ignore[arg-type]


@PROPERTY
@given(st.integers(min_value=0, max_value=9_999_999_999))
def test_clean_money_round_trips_every_cent_amount(cents: int) -> None:
    text = f"{cents // 100:,}.{cents % 100:02d}"
    assert clean_money(text) == Decimal(cents) / 100
    assert clean_money(text).as_tuple().exponent == -2


# --- Date order ----------------------------------------------------------------------------


def test_check_date_order_rejects_later_before_earlier() -> None:
    with pytest.raises(ValueError) as excinfo:
        check_date_order(date(2024, 5, 2), date(2024, 5, 1), "入住日期", "退房日期")
    assert str(excinfo.value) == "退房日期不能早于入住日期"


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (date(2024, 5, 1), date(2024, 5, 1)),
        (date(2024, 5, 1), date(2024, 5, 2)),
        (None, date(2024, 5, 1)),
        (date(2024, 5, 1), None),
        (None, None),
        (datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 1, 9, 0)),
        (datetime(2024, 5, 1, 9, 0), date(2024, 5, 1)),  # same day, mixed types
        (date(2024, 5, 1), datetime(2024, 5, 1, 0, 0)),
    ],
)
def test_check_date_order_accepts(earlier: date | None, later: date | None) -> None:
    check_date_order(earlier, later, "开始时间", "结束时间")


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 1, 8, 59)),
        (datetime(2024, 5, 2, 0, 0), date(2024, 5, 1)),
        (date(2024, 5, 2), datetime(2024, 5, 1, 23, 59)),
    ],
)
def test_check_date_order_rejects_datetimes(earlier: date, later: date) -> None:
    with pytest.raises(ValueError, match="^结束时间不能早于开始时间$"):
        check_date_order(earlier, later, "开始时间", "结束时间")


# --- Masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199001011234", "110101********1234"),
        ("11010519491231002x", "110105********002X"),
        ("110105 19491231 002X", "110105********002X"),
        ("E12345678", "E1*****78"),
        ("12345", "12*45"),
        ("1234", "****"),
        ("A", "*"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_number(value: str | None, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("0755-88886666", "0755-****6666"),
        ("(021)6234567", "021-***4567"),
        ("010-12345678转123", "010-****5678"),
        ("110", "110"),
        ("400 123 4567", "400-123-4567"),
        ("abcdef", "ab**ef"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(value: str | None, masked: str) -> None:
    assert mask_phone(value) == masked


# --- Spreadsheet formula neutralisation ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
        ("+8613800138000", "'+8613800138000"),
        ("-5", "'-5"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("张三", "张三"),
        ("1号楼2单元", "1号楼2单元"),
        (" =1+1", " =1+1"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_formula_strings(value: str, exported: str) -> None:
    assert neutralise_formula(value) == exported


@pytest.mark.parametrize("value", [None, -5, 3.5, Decimal("-1.00"), date(2024, 1, 1), True])
def test_neutralise_formula_leaves_non_strings_alone(value: object) -> None:
    assert neutralise_formula(value) is value
