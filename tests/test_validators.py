"""Behavioural tests for models.validators: what a front-desk clerk types, what they get back."""

from __future__ import annotations

import ast
import random
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from models import validators as v
from models.validators import (
    DOC_TYPES,
    clean_document_number,
    clean_id_number,
    clean_mobile,
    clean_phone,
    fake_id_number,
    fake_mobile,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
)

# No example database: the run must not leave a .hypothesis/ directory in the tree.
# No deadline: tests never assert on wall-clock time.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

CHECK_DIGIT_MSG = "身份证号校验位不正确，请核对后重新输入"
CHARS_MSG = "身份证号码前17位只能是数字，最后一位是数字或字母X，请核对后重新输入"
REGION_MSG = "身份证号码前两位（省份代码）不正确，请核对后重新输入"
BAD_DATE_MSG = "身份证号码中的出生日期（第7至14位）不是有效日期，请核对后重新输入"


def with_check(first17: str) -> str:
    """Append the correct check character so a test isolates one other fault."""
    return first17 + id_check_digit(first17)


def mod11_2_holds(id18: str) -> bool:
    """ISO 7064 MOD 11-2 written from its definition, independent of the module's tables.

    Sum of a_i * 2^(18-i) over all 18 characters (X = 10) is congruent to 1 modulo 11.
    """
    values = [10 if ch == "X" else int(ch) for ch in id18]
    return sum(a * pow(2, 17 - i, 11) for i, a in enumerate(values)) % 11 == 1


def test_module_uses_standard_library_only() -> None:
    # The validators are a package (one module per kind of value); each of its modules may
    # import the standard library and its sibling modules, nothing else of the project.
    imported: set[str] = set()
    for path in Path(v.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, "validators must not import project modules"
                if (node.module or "").startswith("models.validators"):
                    continue
                imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


# --- Resident ID: check digit --------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # GB 11643-1999 worked example
        ("44052418800101001", "4"),  # GB 11643-1999 worked example
        ("00000000000000000", "1"),  # weighted sum 0
        ("00000001000000000", "0"),  # weight 1 -> sum 1
        ("00000000000000001", "X"),  # weight 2 -> sum 2, written as X
        ("10000000000000000", "5"),  # weight 7 -> sum 7
    ],
)
def test_check_digit_of_standard_and_edge_examples(first17: str, expected: str) -> None:
    assert id_check_digit(first17) == expected


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100A"])
def test_check_digit_needs_exactly_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17位数字"):
        id_check_digit(bad)


def test_check_digit_rejects_full_width_digits() -> None:
    # str.isdigit() is true for these; the weights must never be applied to them.
    with pytest.raises(ValueError, match="17位数字"):
        id_check_digit("１１０１０５１９４９１２３１００２")


# --- Resident ID: accepted input -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),  # full-width IME input
        ("11010519000101001X", "11010519000101001X"),  # born on the 1900 floor
        ("810000199901010014", "810000199901010014"),  # Hong Kong residence permit prefix
    ],
)
def test_clean_id_number_accepts_and_normalises(typed: str, stored: str) -> None:
    assert is_valid_id_number(stored)  # guard: the expected value itself is valid
    assert clean_id_number(typed) == stored
    assert is_valid_id_number(typed)


def test_born_today_is_accepted_but_tomorrow_is_not() -> None:
    id_number = with_check("11010520240602001")
    assert clean_id_number(id_number, today=date(2024, 6, 2)) == id_number
    with pytest.raises(ValueError, match="出生日期晚于今天"):
        clean_id_number(id_number, today=date(2024, 6, 1))


def test_gb_sample_born_1880_passes_checksum_but_is_below_the_1900_floor() -> None:
    sample = "440524188001010014"
    assert mod11_2_holds(sample)
    assert id_check_digit(sample[:17]) == sample[17]
    with pytest.raises(ValueError, match="早于1900年"):
        clean_id_number(sample)


# --- Resident ID: each kind of wrong input has its own message --------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请输入身份证号码"),
        (None, "请输入身份证号码"),
        ("   ", "请输入身份证号码"),
        ("11010519491231002", "身份证号码应为18位，当前输入为17位，请核对后重新输入"),
        ("110105194912310021X", "身份证号码应为18位，当前输入为19位，请核对后重新输入"),
        ("11010519491231002A", CHARS_MSG),
        ("1101051949123100X2", CHARS_MSG),
        (with_check("00010519491231002"), REGION_MSG),
        (with_check("99010519491231002"), REGION_MSG),
        (with_check("16010519491231002"), REGION_MSG),
        (with_check("11010519490231002"), BAD_DATE_MSG),  # 31 February
        (with_check("11010519491331002"), BAD_DATE_MSG),  # month 13
        (with_check("11010529990101002"), "身份证号码中的出生日期晚于今天，请核对后重新输入"),
        (with_check("11010518991231002"), "身份证号码中的出生日期早于1900年，请核对后重新输入"),
        ("110105194912310021", CHECK_DIGIT_MSG),
        ("11010519491231002Y", CHARS_MSG),
    ],
)
def test_clean_id_number_explains_what_is_wrong(typed: str | None, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        clean_id_number(typed)
    assert str(excinfo.value) == message
    assert not is_valid_id_number(typed)


def test_is_valid_id_number_never_raises_on_wrong_type() -> None:
    assert is_valid_id_number(11010519491231002) is False  # type: ignore[arg-type]


# --- Document numbers ----------------------------------------------------------------------


def test_doc_types_are_the_two_desk_choices() -> None:
    assert DOC_TYPES == [("resident_id", "居民身份证"), ("other", "其他证件")]


def test_resident_id_document_uses_the_id_rules() -> None:
    assert clean_document_number("resident_id", "11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValueError, match="校验位"):
        clean_document_number("resident_id", "110105194912310021")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("e12345678", "E12345678"),  # passport
        ("H 1234 5678", "H12345678"),  # Home Return Permit typed in groups
        ("c-1234", "C-1234"),
        ("ABCD", "ABCD"),
        ("A" * 32, "A" * 32),
    ],
)
def test_other_document_is_normalised(typed: str, stored: str) -> None:
    assert clean_document_number("other", typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请输入证件号码"),
        (None, "请输入证件号码"),
        ("ABC", "证件号码长度应为4至32位，当前输入为3位"),
        ("A" * 33, "证件号码长度应为4至32位，当前输入为33位"),
        ("护照12345678", "只能包含英文字母、数字和短横线"),
        ("E1234/5678", "只能包含英文字母、数字和短横线"),
    ],
)
def test_other_document_rejects(typed: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clean_document_number("other", typed)


def test_unknown_document_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="证件类型不正确"):
        clean_document_number("passport", "E12345678")


# --- Fake data -----------------------------------------------------------------------------


def test_fake_data_is_deterministic_per_seed() -> None:
    assert fake_id_number(random.Random(7)) == fake_id_number(random.Random(7))
    assert fake_mobile(random.Random(7)) == fake_mobile(random.Random(7))
    one, two = random.Random(7), random.Random(7)
    assert [fake_mobile(one) for _ in range(5)] == [fake_mobile(two) for _ in range(5)]


def test_fake_id_number_respects_region_and_sex() -> None:
    rng = random.Random(1)
    male = fake_id_number(rng, region="110105", sex="male")
    female = fake_id_number(rng, region="310101", sex="女")
    assert male.startswith("110105") and int(male[16]) % 2 == 1
    assert female.startswith("310101") and int(female[16]) % 2 == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region": "990000"},
        {"region": "4403"},
        {"sex": "unknown"},
        {"birth_from": date(2000, 1, 1), "birth_to": date(1999, 1, 1)},
        {"birth_from": date(1899, 1, 1)},
        {"birth_to": date(2999, 1, 1)},
    ],
)
def test_fake_id_number_rejects_impossible_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        fake_id_number(random.Random(0), **kwargs)  # type: ignore[arg-type]


# --- Properties ----------------------------------------------------------------------------

digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


@PROPERTY
@given(digits17)
def test_any_17_digits_plus_check_digit_pass_the_checksum_step(first17: str) -> None:
    id_number = first17 + id_check_digit(first17)
    assert mod11_2_holds(id_number)
    try:
        clean_id_number(id_number)
    except ValueError as exc:
        # Region or birth date may be nonsense for arbitrary digits, but never the checksum.
        assert str(exc) != CHECK_DIGIT_MSG


@PROPERTY
@given(
    st.sampled_from(["11", "31", "44", "65", "71", "81", "91"]),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
)
def test_plausible_17_digits_plus_check_digit_are_accepted(
    province: str, county: str, birth: date, sequence: str
) -> None:
    id_number = with_check(f"{province}{county}{birth:%Y%m%d}{sequence}")
    assert clean_id_number(id_number) == id_number


@PROPERTY
@given(
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_changing_any_single_digit_breaks_the_checksum(
    seed: int, position: int, shift: int
) -> None:
    valid = fake_id_number(random.Random(seed))
    new_digit = str((int(valid[position]) + shift) % 10)
    changed = valid[:position] + new_digit + valid[position + 1 :]
    assert not mod11_2_holds(changed)
    assert id_check_digit(changed[:17]) != changed[17]
    with pytest.raises(ValueError) as excinfo:
        clean_id_number(changed)
    if position >= 14:
        # The sequence digits carry no region or date, so only the checksum can catch it.
        assert str(excinfo.value) == CHECK_DIGIT_MSG


@PROPERTY
@given(st.integers(min_value=0, max_value=2**32), st.sampled_from("0123456789X"))
def test_changing_the_check_character_is_caught(seed: int, replacement: str) -> None:
    valid = fake_id_number(random.Random(seed))
    assume(replacement != valid[17])
    with pytest.raises(ValueError) as excinfo:
        clean_id_number(valid[:17] + replacement)
    assert str(excinfo.value) == CHECK_DIGIT_MSG


@PROPERTY
@given(
    st.integers(min_value=0, max_value=2**64),
    st.sampled_from([None, "male", "female", "m", "F", "男", "女"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(min_value=0, max_value=40_000),
    st.sampled_from(["440305", "110105", "310101", "650102", "810000"]),
)
def test_fake_id_number_always_validates(
    seed: int, sex: str | None, birth_from: date, span_days: int, region: str
) -> None:
    birth_to = min(date.fromordinal(birth_from.toordinal() + span_days), date(2020, 12, 31))
    id_number = fake_id_number(
        random.Random(seed), region=region, birth_from=birth_from, birth_to=birth_to, sex=sex
    )
    assert clean_id_number(id_number) == id_number
    assert id_number.startswith(region)
    birth = datetime.strptime(id_number[6:14], "%Y%m%d").date()
    assert birth_from <= birth <= birth_to
    if sex is not None:
        assert int(id_number[16]) % 2 == (1 if sex.lower() in {"male", "m", "男"} else 0)


@PROPERTY
@given(st.integers(min_value=0, max_value=2**64))
def test_fake_id_number_with_defaults_and_fake_mobile_always_validate(seed: int) -> None:
    rng = random.Random(seed)
    assert is_valid_id_number(fake_id_number(rng))
    mobile = fake_mobile(rng)
    assert clean_mobile(mobile) == mobile
    assert clean_phone(mobile) == mobile


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789X", min_size=18, max_size=18),
        st.integers(min_value=0, max_value=2**32).map(lambda s: fake_id_number(random.Random(s))),
    )
)
def test_mask_id_number_never_reveals_more_than_10_characters(value: str) -> None:
    masked = mask_id_number(value)
    assert sum(ch != "*" for ch in masked) <= 10
    if len(value) == 18 and value.isascii() and value.isalnum():
        assert masked == value[:6].upper() + "*" * 8 + value[-4:].upper()
