"""Reading whole files: every record ends accepted or reported, with row, line, field and code."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import AcceptedRow, FileError, ReceivableFileReader, RejectedRow

HEADER = "債務者ID,氏名,電話番号,メールアドレス,債権番号,請求金額,支払期日"


def read(
    text: str,
    *,
    encoding: str = "utf-8",
    filename: str = "f.csv",
    mapping: ColumnMapping | None = None,
) -> tuple[ReceivableFileReader, list[AcceptedRow | RejectedRow]]:
    reader = ReceivableFileReader([text.encode(encoding)], filename=filename, mapping=mapping)
    return reader, list(reader)


def errors(results: list[AcceptedRow | RejectedRow]) -> list[tuple[int, int, str | None, str]]:
    return [(e.row, e.line, e.field, e.code) for r in results if isinstance(r, RejectedRow) for e in r.errors]


def test_english_headers_match_case_insensitively() -> None:
    text = "Debtor_ID,DEBTOR_NAME,Phone,receivable_id,Amount,Due_Date\nD1,Taro,09012345678,R1,100,2026-12-10\n"
    _, results = read(text)
    assert isinstance(results[0], AcceptedRow)
    assert results[0].data.debtor_id == "D1"


def test_row_and_line_numbers_follow_quoted_newlines_and_blank_lines() -> None:
    text = (
        HEADER + "\r\n"
        'D1,"山田\r\n太郎",090-1234-5678,,R1,100,2026-12-10\r\n'
        "\r\n"
        "D2,鈴木,,,R2,100,2026-12-10\r\n"
        ",,,,,,\r\n"
        "D3,佐藤,,,R3,0,2026-12-10\r\n"
    )
    reader, results = read(text)
    assert errors(results) == [
        (2, 5, None, "no_contact"),
        (3, 7, "amount", "invalid_amount"),
        (3, 7, None, "no_contact"),
    ]
    assert isinstance(results[0], AcceptedRow) and results[0].data.debtor_name == "山田 太郎"
    assert (reader.rows, reader.accepted, reader.rejected) == (3, 1, 2)


def test_each_error_of_a_row_is_listed() -> None:
    _, results = read(HEADER + "\n,,,bad@,,-500,2026-02-30\n")
    assert sorted(e[2] or "" for e in errors(results)) == [
        "amount",
        "debtor_id",
        "debtor_name",
        "due_date",
        "email",
        "receivable_id",
    ]
    codes = {e[2]: e[3] for e in errors(results)}
    assert codes["debtor_id"] == "missing_value" and codes["email"] == "invalid_email"


def test_a_repeated_receivable_id_rejects_the_later_row() -> None:
    _, results = read(HEADER + "\nD1,A,09012345678,,R1,100,2026-12-10\nD2,B,09012345678,,R1,200,2026-12-10\n")
    assert isinstance(results[0], AcceptedRow)
    assert errors(results) == [(2, 3, "receivable_id", "duplicate_receivable")]


def test_a_missing_required_column_is_a_file_error_naming_the_accepted_headers() -> None:
    with pytest.raises(FileError) as info:
        read("氏名,電話番号,債権番号,請求金額\nA,09012345678,R1,100\n")
    assert info.value.code == "missing_column"
    assert "debtor_id" in info.value.message and "債務者ID" in info.value.message and "due_date" in info.value.message


def test_two_columns_for_one_field_is_a_file_error() -> None:
    with pytest.raises(FileError) as info:
        read("債務者ID,顧客番号,氏名,電話番号,債権番号,請求金額,支払期日\n")
    assert info.value.code == "duplicate_column"


def test_an_empty_file_is_a_file_error() -> None:
    with pytest.raises(FileError) as info:
        read("")
    assert info.value.code == "missing_column"


def test_tsv_files_are_tab_separated() -> None:
    _, results = read(
        HEADER.replace(",", "\t") + "\nD1\t山田\t09012345678\t\tR1\t12,000\t2026-12-10\n", filename="x.tsv"
    )
    assert isinstance(results[0], AcceptedRow) and results[0].data.amount == 12000


def test_mapping_file_renames_columns_and_fills_defaults() -> None:
    mapping = ColumnMapping.from_yaml(
        "columns:\n  お客様コード: debtor_id\n  ご請求額: amount\ndefaults:\n  product: utility\n  segment: B\n"
    )
    text = (
        "お客様コード,氏名,電話番号,債権番号,ご請求額,支払期日,督促グループ\nC1,山田,09012345678,R1,100,2026-12-10,\n"
    )
    _, results = read(text, mapping=mapping)
    assert isinstance(results[0], AcceptedRow)
    assert (results[0].data.debtor_id, results[0].data.product, results[0].data.segment) == (
        "C1",
        "utility",
        "B",
    )


def test_a_mapping_to_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown canonical fields"):
        ColumnMapping.from_yaml("columns:\n  X: debtor_idd\n")


def test_extra_non_empty_cells_reject_the_row_but_trailing_empty_cells_do_not() -> None:
    text = HEADER + "\nD1,A,09012345678,,R1,100,2026-12-10,,,\nD2,B,09012345678,,R2,100,2026-12-10,oops\n"
    _, results = read(text)
    assert isinstance(results[0], AcceptedRow)
    assert errors(results) == [(2, 3, None, "malformed_row")]


def test_formula_like_values_are_kept_as_text() -> None:
    _, results = read(HEADER + '\nD1,"=1+2",09012345678,,R1,100,2026-12-10\n')
    assert isinstance(results[0], AcceptedRow) and results[0].data.debtor_name == "=1+2"


def test_half_width_kana_names_are_widened() -> None:
    _, results = read(
        "債務者ID,氏名,フリガナ,電話番号,債権番号,請求金額,支払期日\nD1,山田,ﾔﾏﾀﾞ ﾀﾛｳ,09012345678,R1,1,2026-12-10\n"
    )
    assert isinstance(results[0], AcceptedRow) and results[0].data.debtor_name_kana == "ヤマダ タロウ"


DOCUMENTED_CODES = {
    "missing_value",
    "invalid_amount",
    "invalid_date",
    "invalid_phone",
    "invalid_email",
    "no_contact",
    "duplicate_receivable",
    "invalid_id",
    "invalid_account",
    "invalid_value",
    "malformed_row",
}
CELL = st.text(alphabet=st.sampled_from(list('0123456789-,/年月日￥円"\n 山田abc@.=')), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=15),
    st.sampled_from(["utf-8", "cp932", "utf-8-sig"]),
)
def test_every_record_is_accepted_or_reported(rows: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    reader, results = read(buffer.getvalue(), encoding=encoding)
    assert reader.rows == reader.accepted + reader.rejected == len(results)
    assert all(r.errors for r in results if isinstance(r, RejectedRow))
    assert {code for *_, code in errors(results)} <= DOCUMENTED_CODES
    assert [r.row for r in results] == list(range(1, len(results) + 1))


def test_an_overlong_value_is_invalid_value_naming_the_field() -> None:
    _, results = read(HEADER + f"\nD1,{'山' * 600},09012345678,,R1,100,2026-12-10\n")
    assert errors(results) == [(1, 2, "debtor_name", "invalid_value")]


def test_every_reported_code_is_a_documented_one() -> None:
    from saiken.intake.fields import ROW_CODES

    text = HEADER + "\n,,12345,bad@,,-1,2026-02-30\nD1,A,,,R1,100,2026-12-10\nD2,B,0901,x@y.jp,R1,1,20261210,extra\n"
    _, results = read(text)
    codes = {code for *_, code in errors(results)}
    assert codes <= ROW_CODES | {"duplicate_receivable", "malformed_row", "invalid_value"}
    assert codes >= {"missing_value", "invalid_phone", "invalid_email", "invalid_amount", "invalid_date", "no_contact"}
