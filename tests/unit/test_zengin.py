"""Zengin 200-byte files: byte positions, both record separators, formats A/B, 01 and 03,
cancellations, trailer checks and the malformed files a bank (or a broken transfer) produces."""

from __future__ import annotations

from datetime import date

import pytest

from saiken.intake.reader import FileError
from saiken.payments.files import read_payments
from saiken.payments.zengin import (
    StatementLine,
    Transfer,
    ZenginFileError,
    read_zengin,
    statement,
    to_zengin_kana,
    transfer_notice,
)

DAY = date(2026, 11, 13)


def _pad(parts: list[bytes]) -> bytes:
    record = b"".join(parts)
    assert len(record) <= 200
    return record.ljust(200, b" ")


def _hand_built_01() -> bytes:
    """A 振込入金通知 written field by field from the published layout, not by our writer."""
    header = _pad(
        [
            b"1",  # データ区分
            b"01",  # 種別コード
            b"0",  # コード区分 JIS
            b"081113",  # 作成日 令和8年11月13日
            b"081113",  # 勘定日(自)
            b"081113",  # 勘定日(至)
            b"0005",  # 銀行コード
            "ﾐﾂﾋﾞｼUFJ".encode("cp932").ljust(15),
            b"123",  # 支店コード
            "ｼﾝｼﾞﾕｸ".encode("cp932").ljust(15),
            b"1",  # 預金種目 普通
            b"7654321",  # 口座番号
            "ｻｲｹﾝ(ｶ".encode("cp932").ljust(40),
        ]
    )
    data = _pad(
        [
            b"2",
            b"000042",  # 照会番号
            b"081113",  # 勘定日
            b"081113",  # 起算日
            b"0000012000",  # 金額
            b"0000000000",  # うち他店券金額
            b"0000000000",  # 振込依頼人コード
            "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ".encode("cp932").ljust(48),
            b" " * 15,
            b" " * 15,
            b"0",  # 取消区分
            b"A-0001".ljust(20),  # EDI情報
        ]
    )
    trailer = _pad([b"8", b"000001", b"000000012000", b"000000", b"000000000000"])
    end = _pad([b"9"])
    return b"".join(r + b"\r\n" for r in (header, data, trailer, end))


def test_fields_are_read_from_their_published_positions() -> None:
    parsed = read_zengin(_hand_built_01(), reference_year=2026)
    assert parsed.kind == "01" and parsed.errors == [] and parsed.records == 4
    (p,) = parsed.payments
    assert p.amount == 12000
    assert p.paid_on == DAY  # 081113 = 令和8年
    assert p.payer_name_kana == "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ"
    assert p.virtual_account == "7654321"
    assert p.reference == "A-0001"
    assert p.payment_id == "0005-123-7654321-20261113-000042"
    assert p.cancels is None


def test_our_writer_produces_the_same_bytes_as_the_layout() -> None:
    written = transfer_notice(
        [Transfer(DAY, 12000, "カ)ヤマダショウジ", inquiry=42, edi="A-0001")],
        created=DAY,
        account="7654321",
        bank_code="0005",
        branch_code="123",
        bank_name="ﾐﾂﾋﾞｼUFJ",
        branch_name="ｼﾝｼﾞﾕｸ",
        account_name="ｻｲｹﾝ(ｶ",
    )
    assert written == _hand_built_01()


def test_bare_records_and_crlf_records_read_the_same() -> None:
    transfers = [Transfer(DAY, 1000 * i, f"ﾃｽﾄ{i}") for i in range(1, 6)]
    crlf = transfer_notice(transfers, created=DAY, crlf=True)
    bare = transfer_notice(transfers, created=DAY, crlf=False)
    assert len(bare) == 8 * 200 and len(crlf) == 8 * 202
    assert read_zengin(bare).payments == read_zengin(crlf).payments
    assert read_zengin(bare + b"\x1a").payments == read_zengin(bare).payments  # DOS end-of-file mark


def test_format_b_carries_twelve_digit_amounts() -> None:
    data = transfer_notice([Transfer(DAY, 123_456_789_012, "ｵｵｸﾞﾁ")], created=DAY, format_b=True)
    record = data[202:402]
    assert record[19:29] == b"0000000000"  # 金額(1) all 0
    assert record[128:140] == b"123456789012"  # 金額(2)
    assert read_zengin(data).payments[0].amount == 123_456_789_012


def test_a_cancellation_names_the_payment_it_cancels() -> None:
    data = transfer_notice(
        [Transfer(DAY, 5000, "ｽｽﾞｷ", inquiry=7), Transfer(DAY, 5000, "ｽｽﾞｷ", inquiry=7, cancel=True)],
        created=DAY,
    )
    original, cancellation = read_zengin(data).payments
    assert cancellation.cancels == original.payment_id
    assert cancellation.payment_id != original.payment_id


@pytest.mark.parametrize("includes", [True, False])
def test_trailer_totals_with_or_without_cancellations_are_both_accepted(includes: bool) -> None:
    data = transfer_notice(
        [Transfer(DAY, 5000, "ｽｽﾞｷ", inquiry=7), Transfer(DAY, 5000, "ｽｽﾞｷ", inquiry=7, cancel=True)],
        created=DAY,
        trailer_includes_cancellations=includes,
    )
    assert len(read_zengin(data).payments) == 2


def test_several_account_groups_in_one_file() -> None:
    data = transfer_notice(
        {"1000001": [Transfer(DAY, 100, "ｱ")], "1000002": [Transfer(DAY, 200, "ｲ"), Transfer(DAY, 300, "ｳ")]},
        created=DAY,
    )
    parsed = read_zengin(data)
    assert parsed.accounts == 2
    assert [(p.virtual_account, p.amount) for p in parsed.payments] == [
        ("1000001", 100),
        ("1000002", 200),
        ("1000002", 300),
    ]


def test_statement_03_keeps_deposits_and_skips_withdrawals() -> None:
    data = statement(
        [StatementLine(DAY, 3000, "ﾀﾅｶ ｲﾁﾛｳ"), StatementLine(DAY, 800, deposit=False), StatementLine(DAY, 4000, "ｻﾄｳ")],
        created=DAY,
    )
    parsed = read_zengin(data)
    assert parsed.kind == "03"
    assert [p.amount for p in parsed.payments] == [3000, 4000]
    assert parsed.withdrawals == 1
    assert parsed.payments[0].virtual_account == "1234567"  # 10-digit account, zeros dropped
    assert data[:1] == b"1" and data[200 * 4 : 200 * 4 + 1] == b"8" and data[-200:-199] == b"9"


def test_heisei_dates_in_old_files() -> None:
    data = bytearray(_hand_built_01())
    data[202 + 7 : 202 + 13] = b"280503"  # 平成28年5月3日, as a 2016 file writes it
    (p,) = read_zengin(bytes(data), reference_year=2026).payments
    assert p.paid_on == date(2016, 5, 3)


def test_kana_for_the_bank() -> None:
    assert to_zengin_kana("ショウジ") == "ｼﾖｳｼﾞ"
    assert to_zengin_kana("ハットリ") == "ﾊﾂﾄﾘ"
    assert to_zengin_kana("サトー") == "ｻﾄ-"


# --- malformed files ---------------------------------------------------------------------


def _valid() -> bytes:
    return transfer_notice([Transfer(DAY, 1000, "ｱ"), Transfer(DAY, 2000, "ｲ")], created=DAY, crlf=False)


def test_a_short_record_refuses_the_file() -> None:
    data = _valid()
    with pytest.raises(ZenginFileError) as err:
        read_zengin(data[:-1])
    assert err.value.code == "record_length"
    crlf = transfer_notice([Transfer(DAY, 1000, "ｱ")], created=DAY).replace(b" \r\n8", b"\r\n8", 1)
    with pytest.raises(ZenginFileError, match="record 2 is 199 bytes"):
        read_zengin(crlf)


def test_a_trailer_that_does_not_add_up_refuses_the_file() -> None:
    data = bytearray(_valid())
    trailer = 3 * 200
    assert data[trailer : trailer + 1] == b"8"
    data[trailer + 1 : trailer + 7] = b"000003"  # says 3 transfers; there are 2
    with pytest.raises(ZenginFileError) as err:
        read_zengin(bytes(data))
    assert err.value.code == "trailer_mismatch"
    assert "says 3 transfers" in err.value.message and "has 2" in err.value.message


def test_an_amount_changed_in_transit_refuses_the_file() -> None:
    data = bytearray(_valid())
    data[200 + 19 : 200 + 29] = b"0000009999"
    with pytest.raises(ZenginFileError, match="trailer"):
        read_zengin(bytes(data))


def test_a_file_cut_short_has_no_end_record() -> None:
    with pytest.raises(ZenginFileError, match="no end record"):
        read_zengin(_valid()[:-200])


def test_data_before_a_header_is_a_structure_error() -> None:
    data = _valid()
    with pytest.raises(ZenginFileError) as err:
        read_zengin(data[200:])
    assert err.value.code == "unsupported_kind"
    empty_group = transfer_notice([], created=DAY, crlf=False)  # header, trailer (0 / ¥0), end
    with pytest.raises(ZenginFileError, match="record 3: a data record outside a header/trailer group"):
        read_zengin(empty_group[:400] + data[200:400] + empty_group[400:])


def test_ebcdic_is_refused_clearly() -> None:
    data = bytearray(_valid())
    data[3:4] = b"1"
    with pytest.raises(ZenginFileError, match="EBCDIC"):
        read_zengin(bytes(data))


def test_a_bad_date_rejects_that_record_only() -> None:
    data = bytearray(_valid())
    data[200 + 7 : 200 + 13] = b"081332"  # 11月32日
    parsed = read_zengin(bytes(data))
    assert [p.amount for p in parsed.payments] == [2000]
    (error,) = parsed.errors
    assert (error.record, error.field, error.code) == (2, "勘定日", "invalid_date")


def test_the_file_reader_reports_zengin_problems_as_file_errors() -> None:
    with pytest.raises(FileError) as err:
        read_payments(_valid()[:-200], "ZENGIN1113.DAT")
    assert err.value.code == "structure"
    assert read_payments(_valid(), "nyukin.txt").format == "zengin-01"
    assert read_payments(_valid(), "any-name.bin").format == "zengin-01"  # recognised by its bytes


def test_the_writer_never_fails_on_what_jis_lacks() -> None:
    assert to_zengin_kana("ﾀﾞﾞ") == "ﾀﾞﾞ"  # a stray dakuten stays a half-width dakuten
    data = transfer_notice([Transfer(DAY, 100, "山田 ﾀﾛｳ")], created=DAY)  # kanji: not in JIS X 0201
    assert all(len(line) == 200 for line in data.split(b"\r\n")[:-1])
    (p,) = read_zengin(data).payments
    assert p.payer_name_kana == "?? ﾀﾛｳ"
