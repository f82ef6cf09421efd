"""Normalisation of the values creditors type (the contract in the README)."""

from __future__ import annotations

from datetime import date

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from saiken.intake.normalize import (
    FORMULA_PREFIXES,
    escape_csv_cell,
    normalize_email,
    normalize_phone,
    parse_amount,
    parse_date,
)


def code_of(fn, value) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PydanticCustomError) as info:
        fn(value)
    return info.value.type


@pytest.mark.parametrize(
    "text",
    ["12000", "12,000", "¥12,000", "￥12,000", "12000円", "１２，０００", "12000.00", " 12000 ", "\\12,000"],
)
def test_valid_amounts(text: str) -> None:
    assert parse_amount(text) == 12000


@pytest.mark.parametrize("text", ["0", "-500", "12.5", "abc", "", "1e5", "12,000.50", "¥", "1000000000000"])
def test_invalid_amounts(text: str) -> None:
    assert code_of(parse_amount, text) == "invalid_amount"


@given(st.integers(min_value=1, max_value=10**11))
def test_any_formatting_of_an_amount_parses_back(amount: int) -> None:
    for text in (
        str(amount),
        f"{amount:,}",
        f"¥{amount:,}",
        f"{amount}円",
        f"{amount}.00",
        f"{amount:,}".translate(str.maketrans("0123456789,", "０１２３４５６７８９，")),
    ):
        assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-10", date(2026, 12, 10)),
        ("2026/12/10", date(2026, 12, 10)),
        ("2026/1/5", date(2026, 1, 5)),
        ("20261210", date(2026, 12, 10)),
        ("2026年12月10日", date(2026, 12, 10)),
        ("令和8年12月10日", date(2026, 12, 10)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R8.12.10", date(2026, 12, 10)),
        ("Ｒ８．１２．１０", date(2026, 12, 10)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("２０２６／１２／１０", date(2026, 12, 10)),
    ],
)
def test_valid_dates(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "12/10/2026",
        "来週",
        "",
        "2026-13-01",
        "令和0年1月1日",
        "令和元年4月30日",
        "20261332",
        "2026/12",
    ],
)
def test_invalid_dates(text: str) -> None:
    assert code_of(parse_date, text) == "invalid_date"


@given(st.dates(min_value=date(1989, 1, 8), max_value=date(2099, 12, 31)))
def test_every_supported_date_format_round_trips(day: date) -> None:
    formats = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        day.strftime("%Y%m%d"),
        f"{day.year}年{day.month}月{day.day}日",
    ]
    era, start = ("令和", 2018) if day >= date(2019, 5, 1) else ("平成", 1988)
    year = day.year - start
    formats.append(f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日")
    for text in formats:
        assert parse_date(text) == day, text


@pytest.mark.parametrize(
    "text",
    [
        "090-1234-5678",
        "09012345678",
        "０９０－１２３４－５６７８",
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "090 1234 5678",
        "(090)1234-5678",
    ],
)
def test_valid_mobile_numbers_become_e164(text: str) -> None:
    assert normalize_phone(text) == "+819012345678"


def test_landlines_and_free_dial() -> None:
    assert normalize_phone("03-1234-5678") == "+81312345678"
    assert normalize_phone("0120-123-456") == "+81120123456"


@pytest.mark.parametrize("text", ["12345", "090-0000-000", "abc", "000-1234-5678", "090-0123-4567"])
def test_invalid_phone_numbers(text: str) -> None:
    assert code_of(normalize_phone, text) == "invalid_phone"


@given(st.from_regex(r"0[1-9][0-9]{8,9}", fullmatch=True))
def test_fast_path_agrees_with_phonenumbers(number: str) -> None:
    """The (prefix, length) shortcut must judge every number exactly as phonenumbers does."""
    try:
        parsed = phonenumbers.parse(number, "JP")
        valid = phonenumbers.is_valid_number(parsed)
    except phonenumbers.NumberParseException:
        valid = False
    expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if valid else None
    try:
        got: str | None = normalize_phone(number)
    except PydanticCustomError:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Taro@Example.CO.JP", "Taro@example.co.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),
    ],
)
def test_valid_emails(text: str, expected: str) -> None:
    assert normalize_email(text) == expected


@pytest.mark.parametrize("text", ["bad@", "@example.jp", "taro", "taro@example", "ta ro@example.jp", "a..b@example.jp"])
def test_invalid_emails(text: str) -> None:
    assert code_of(normalize_email, text) == "invalid_email"


@given(st.text(max_size=30))
def test_escaped_cells_never_start_a_formula(text: str) -> None:
    escaped = escape_csv_cell(text)
    assert not escaped.startswith(FORMULA_PREFIXES)
    assert escaped.removeprefix("'") == text or escaped == text


@pytest.mark.parametrize("value", [[1], {"a": 1}, None, True])
def test_odd_json_values_are_invalid_not_crashes(value: object) -> None:
    """The API hands over any JSON value; the per-string caches must never see an unhashable one."""
    assert code_of(parse_amount, value) == "invalid_amount"
    assert code_of(parse_date, value) == "invalid_date"


def test_cached_results_are_the_same_every_time() -> None:
    assert parse_date("令和8年12月10日") == parse_date("令和8年12月10日") == date(2026, 12, 10)
    for _ in range(2):
        assert code_of(parse_amount, "abc") == "invalid_amount"
        assert code_of(parse_date, "2026-02-30") == "invalid_date"
