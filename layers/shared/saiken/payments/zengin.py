"""Zengin (全銀協) 200-byte bank files: 振込入金通知 (種別 01) and 入出金取引明細 (種別 03).

Byte positions follow docs/zengin.md (1-based, inclusive). Records are 200 bytes, bare or each
followed by CR LF; text is CP932 half-width (JIS X 0201 kana one byte each). A file is
rejected whole (``ZenginFileError``) when its structure or a trailer total is wrong, since
then no line in it can be trusted; a single data record that cannot be read is reported
(``RecordError``) and the others go on, as bad CSV rows do.

``ZenginWriter`` builds the same layouts byte-exact (the demo's bank file, and the tests).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import jaconv

from saiken.domain.payments import IncomingPayment

RECORD: Final = 200
ENCODING: Final = "cp932"
REIWA_OFFSET: Final = 2018  # 令和 YY = Gregorian year - 2018
HEISEI_OFFSET: Final = 1988
TRANSFER_NOTICE: Final = "01"  # 振込入金通知
STATEMENT: Final = "03"  # 入出金取引明細


class ZenginFileError(ValueError):
    """The file cannot be used at all (length, structure, trailer totals, kind)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RecordError:
    record: int  # 1-based record number in the file
    field: str | None
    code: str
    message: str
    value: str | None = None


@dataclass
class ZenginFile:
    kind: str
    payments: list[IncomingPayment] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    records: int = 0
    accounts: int = 0
    withdrawals: int = 0  # 03 出金 lines: not payments, skipped


# --- reading ---------------------------------------------------------------------------


def looks_like_zengin(data: bytes) -> bool:
    return len(data) >= RECORD and data[:1] == b"1" and data[1:3] in (b"01", b"03")


def split_records(data: bytes) -> list[bytes]:
    """Bare 200-byte records, or records each ended by CR LF (or LF); a trailing EOF (0x1A) is ignored."""
    data = data.rstrip(b"\x1a")
    if len(data) > RECORD and data[RECORD : RECORD + 1] in (b"\r", b"\n"):
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
    else:
        if len(data) % RECORD:
            raise ZenginFileError(
                "record_length", f"the file is {len(data)} bytes: not a whole number of 200-byte records"
            )
        lines = [data[i : i + RECORD] for i in range(0, len(data), RECORD)]
    for number, line in enumerate(lines, 1):
        if len(line) != RECORD:
            raise ZenginFileError("record_length", f"record {number} is {len(line)} bytes, not {RECORD}")
    return lines


class _Fields:
    """Slices of one record by 1-based inclusive positions, with the checks N and C fields need."""

    def __init__(self, record: bytes, number: int, errors: list[RecordError]) -> None:
        self.record, self.number, self.errors, self.ok = record, number, errors, True

    def raw(self, start: int, end: int) -> bytes:
        return self.record[start - 1 : end]

    def num(self, start: int, end: int, name: str, *, optional: bool = True) -> int | None:
        raw = self.raw(start, end)
        if raw.strip(b" ") == b"" and optional:
            return None
        if not raw.isdigit():
            self._fail(name, "invalid_number", f"{name} ({start}-{end}) must be digits", raw)
            return None
        return int(raw)

    def text(self, start: int, end: int, name: str) -> str:
        raw = self.raw(start, end)
        try:
            return raw.decode(ENCODING).rstrip(" ")
        except UnicodeDecodeError:
            self._fail(name, "invalid_text", f"{name} ({start}-{end}) is not JIS/CP932 text", raw)
            return ""

    def wareki(self, start: int, end: int, name: str, reference_year: int) -> date | None:
        raw = self.raw(start, end)
        if raw.strip(b" 0") == b"":
            return None
        if not raw.isdigit():
            self._fail(name, "invalid_date", f"{name} ({start}-{end}) must be 和暦 YYMMDD", raw)
            return None
        yy, mm, dd = int(raw[:2]), int(raw[2:4]), int(raw[4:6])
        year = REIWA_OFFSET + yy
        if year > reference_year + 1:  # older files count in 平成 (H28 = 2016)
            year = HEISEI_OFFSET + yy
        try:
            return date(year, mm, dd)
        except ValueError:
            self._fail(name, "invalid_date", f"{name} {raw.decode()} is not a calendar date", raw)
            return None

    def _fail(self, name: str, code: str, message: str, raw: bytes) -> None:
        self.ok = False
        self.errors.append(RecordError(self.number, name, code, message, raw.decode(ENCODING, "replace")))


def read_zengin(data: bytes, *, reference_year: int | None = None, file_id: str = "") -> ZenginFile:
    """Parse a 種別 01 or 03 file into payments; raise ZenginFileError when it is unusable.

    ``file_id`` (e.g. the object key) only names payments whose 照会番号 is blank.
    """
    year = reference_year or date.today().year
    records = split_records(data)
    if not records:
        raise ZenginFileError("empty", "the file has no records")
    kind = records[0][1:3].decode("ascii", "replace")
    if records[0][:1] != b"1" or kind not in (TRANSFER_NOTICE, STATEMENT):
        raise ZenginFileError(
            "unsupported_kind", "the first record must be a header of 振込入金通知 (01) or 入出金取引明細 (03)"
        )
    result = ZenginFile(kind=kind, records=len(records))
    group: _Group | None = None
    seen_ids: dict[str, int] = {}
    ended = False
    for number, record in enumerate(records, 1):
        division = record[:1]
        if ended:
            raise ZenginFileError("structure", f"record {number} comes after the end record (データ区分 9)")
        if division == b"1":
            if group is not None:
                raise ZenginFileError("structure", f"record {number}: a header before the previous trailer")
            group = _Group.open(record, number, kind, year, result.errors)
            result.accounts += 1
        elif division == b"2":
            if group is None:
                raise ZenginFileError("structure", f"record {number}: a data record outside a header/trailer group")
            group.data(record, number, year, result, seen_ids, file_id)
        elif division == b"8":
            if group is None:
                raise ZenginFileError("structure", f"record {number}: a trailer without a header")
            group.close(record, number)
            group = None
        elif division == b"9":
            if group is not None:
                raise ZenginFileError("structure", f"record {number}: the end record before the group's trailer")
            _check_end(record, number, kind, result)
            ended = True
        else:
            raise ZenginFileError("structure", f"record {number}: unknown データ区分 {division!r}")
    if not ended:
        raise ZenginFileError("structure", "the file has no end record (データ区分 9): it may be cut short")
    return result


@dataclass
class _Group:
    """One account's header, data and trailer, with running totals for the trailer check."""

    kind: str
    account: str
    bank: str
    number: int
    count: int = 0
    total: int = 0
    cancelled: int = 0
    cancelled_total: int = 0
    out_count: int = 0
    out_total: int = 0

    @classmethod
    def open(cls, record: bytes, number: int, kind: str, year: int, errors: list[RecordError]) -> _Group:
        if record[1:3].decode("ascii", "replace") != kind:
            raise ZenginFileError("structure", f"record {number}: a {record[1:3]!r} header inside a {kind} file")
        if record[3:4] != b"0":
            raise ZenginFileError("unsupported_encoding", "コード区分 is not 0 (JIS): EBCDIC files are not supported")
        f = _Fields(record, number, [])
        bank = f.raw(23, 26).decode("ascii", "replace") + "-" + f.raw(42, 44).decode("ascii", "replace")
        account_raw = f.raw(61, 67) if kind == TRANSFER_NOTICE else f.raw(64, 73)
        if not account_raw.isdigit():
            raise ZenginFileError("structure", f"record {number}: the header's 口座番号 is not digits")
        return cls(kind, account_raw.decode(), bank, number)

    def data(
        self,
        record: bytes,
        number: int,
        year: int,
        result: ZenginFile,
        seen_ids: dict[str, int],
        file_id: str,
    ) -> None:
        f = _Fields(record, number, result.errors)
        if self.kind == TRANSFER_NOTICE:
            inquiry = f.raw(2, 7)
            booked = f.wareki(8, 13, "勘定日", year)
            name = f.text(50, 97, "振込依頼人名")
            payer_code = f.num(40, 49, "振込依頼人コード")
            cancel_flag = f.raw(128, 128)
            format_b = f.raw(129, 152).isdigit()
            amount = f.num(20, 29, "金額", optional=False)
            if format_b and not amount:
                amount = f.num(129, 140, "金額(2)", optional=False)
            edi = f.text(153, 172, "EDI情報") if format_b else f.text(129, 148, "EDI情報")
            cancel = cancel_flag == b"1"
            if cancel_flag not in (b"0", b"1", b" "):
                f._fail("取消区分", "invalid_value", "取消区分 must be 0 or 1", cancel_flag)
            deposit = True
        else:
            inquiry = f.raw(2, 9)
            booked = f.wareki(10, 15, "勘定日", year)
            direction = f.raw(22, 22)
            amount = f.num(25, 36, "取引金額", optional=False)
            payer_code = f.num(72, 81, "振込依頼人コード")
            name = f.text(82, 129, "振込依頼人名")
            edi = f.text(180, 199, "EDI情報")
            cancel = False
            deposit = direction == b"1"
            if direction not in (b"1", b"2"):
                f._fail("入払区分", "invalid_value", "入払区分 must be 1 (入金) or 2 (出金)", direction)
        # every data record counts towards the trailer, readable or not: amounts that are not
        # digits make the totals disagree and the file is refused below.
        self._count(amount or 0, cancel, deposit)
        if not f.ok:
            return
        if booked is None:
            f._fail("勘定日", "missing_value", "勘定日 is required", f.raw(8, 13))
            return
        if not deposit:
            result.withdrawals += 1
            return
        if not amount:
            f._fail("金額", "invalid_amount", "a payment of 0 yen", b"0")
            return
        key = inquiry.decode("ascii", "replace").strip(" ")
        if key.strip("0"):
            base = f"{self.bank}-{self.account}-{booked:%Y%m%d}-{key}"
        else:  # no 照会番号: the record's own bytes name it (stable across re-deliveries of the file)
            digest = hashlib.sha256(record).hexdigest()[:12]
            base = f"{self.bank}-{self.account}-{booked:%Y%m%d}-{digest}"
            if file_id:
                base += f"-{hashlib.sha256(file_id.encode()).hexdigest()[:6]}"
        payment_id = f"{base}-cancel" if cancel else base
        seen_ids[payment_id] = seen_ids.get(payment_id, 0) + 1
        if seen_ids[payment_id] > 1:
            payment_id = f"{payment_id}-{seen_ids[payment_id]}"
        result.payments.append(
            IncomingPayment(
                payment_id=payment_id,
                paid_on=booked,
                amount=amount,
                payer_name_kana=name or None,
                virtual_account=self.account.lstrip("0") or None,
                reference=edi.strip() or None,
                payer_code=str(payer_code) if payer_code else None,
                cancels=base if cancel else None,
            )
        )

    def _count(self, amount: int, cancel: bool, deposit: bool) -> None:
        if not deposit:
            self.out_count += 1
            self.out_total += amount
            return
        self.count += 1
        self.total += amount
        if cancel:
            self.cancelled += 1
            self.cancelled_total += amount

    def close(self, record: bytes, number: int) -> None:
        f = _Fields(record, number, [])
        where = f"the trailer (record {number}) of account {self.account}"
        if self.kind == TRANSFER_NOTICE:
            count, total = f.num(2, 7, "振込合計件数"), f.num(8, 19, "振込合計金額")
            c_count, c_total = f.num(20, 25, "取消合計件数"), f.num(26, 37, "取消合計金額")
            # 振込合計 over all data records (Diva.Zengin) or over the transfers only: accept either
            net = (self.count - self.cancelled, self.total - self.cancelled_total)
            if (count, total) not in ((self.count, self.total), net):
                raise ZenginFileError(
                    "trailer_mismatch",
                    f"{where} says {count} transfers / ¥{total or 0:,}; the file has {self.count} / ¥{self.total:,}",
                )
            if (c_count or 0, c_total or 0) != (self.cancelled, self.cancelled_total):
                raise ZenginFileError(
                    "trailer_mismatch",
                    f"{where} says {c_count} cancellations / ¥{c_total or 0:,}; "
                    f"the file has {self.cancelled} / ¥{self.cancelled_total:,}",
                )
        else:
            counts = (f.num(2, 7, "入金件数"), f.num(8, 20, "入金額合計"), f.num(21, 26, "出金件数"))
            out_total = f.num(27, 39, "出金額合計")
            if counts != (self.count, self.total, self.out_count) or (out_total or 0) != self.out_total:
                raise ZenginFileError(
                    "trailer_mismatch",
                    f"{where} says {counts[0]} deposits / ¥{counts[1] or 0:,} and {counts[2]} withdrawals; "
                    f"the file has {self.count} / ¥{self.total:,} and {self.out_count}",
                )


def _check_end(record: bytes, number: int, kind: str, result: ZenginFile) -> None:
    if kind != STATEMENT:
        return
    f = _Fields(record, number, [])
    total, accounts = f.num(2, 11, "レコード総件数"), f.num(12, 16, "口座数")
    if total is not None and total != number:
        raise ZenginFileError("trailer_mismatch", f"the end record counts {total} records; the file has {number}")
    if accounts is not None and accounts != result.accounts:
        raise ZenginFileError(
            "trailer_mismatch", f"the end record counts {accounts} accounts; the file has {result.accounts}"
        )


# --- writing ---------------------------------------------------------------------------

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


def to_zengin_kana(text: str) -> str:
    """Full-width or hiragana names as a bank prints them: half-width kana, no small kana, ー as -."""
    s = jaconv.hira2kata(unicodedata.normalize("NFKC", text)).translate(_SMALL_TO_LARGE)
    s = s.replace("ー", "-").replace("　", " ").upper()
    s = jaconv.z2h(s, kana=True, ascii=True, digit=True)
    return s.replace("\u3099", "ﾞ").replace("\u309a", "ﾟ")  # a lone (combining) dakuten / handakuten


def wareki(d: date | None) -> bytes:
    if d is None:
        return b"000000"
    return f"{d.year - REIWA_OFFSET:02d}{d.month:02d}{d.day:02d}".encode()


def n(value: int | None, width: int) -> bytes:
    text = f"{value or 0:0{width}d}".encode()
    if len(text) > width:
        raise ValueError(f"{value} does not fit in N({width})")
    return text


def c(text: str | None, width: int) -> bytes:
    text = "".join(ch if len(ch.encode(ENCODING, errors="replace")) == 1 else "?" for ch in to_zengin_kana(text or ""))
    raw = text.encode(ENCODING, errors="replace")[:width]  # one byte a character; "?" for what JIS X 0201 lacks
    return raw.ljust(width, b" ")


@dataclass(frozen=True)
class Transfer:
    """One 振込入金通知 data record to write."""

    booked: date
    amount: int
    payer_name: str
    inquiry: int | None = None
    payer_code: int | None = None
    edi: str | None = None
    cancel: bool = False


def transfer_notice(
    transfers: Iterable[Transfer] | Mapping[str, Iterable[Transfer]],
    *,
    created: date,
    account: str = "1234567",
    bank_code: str = "0001",
    branch_code: str = "001",
    bank_name: str = "ﾐｽﾞﾎ",
    branch_name: str = "ﾎﾝﾃﾝ",
    account_name: str = "ｻｲｹﾝ",
    crlf: bool = True,
    format_b: bool = False,
    trailer_includes_cancellations: bool = True,
) -> bytes:
    """A 種別 01 file, byte-exact: one group (header, data, trailer) per account, then the end
    record. ``transfers`` is one account's list, or {account number: transfers} for several
    (virtual accounts: one group each)."""
    groups = dict(transfers) if isinstance(transfers, Mapping) else {account: transfers}
    records: list[bytes] = []
    for number, items in groups.items():
        records += _transfer_group(
            list(items),
            created=created,
            account=number,
            bank=bank_code.encode() + c(bank_name, 15) + branch_code.encode() + c(branch_name, 15),
            account_name=account_name,
            format_b=format_b,
            trailer_includes_cancellations=trailer_includes_cancellations,
        )
    records.append(b"9".ljust(RECORD, b" "))
    return _join(records, crlf)


def _join(records: list[bytes], crlf: bool) -> bytes:
    for r in records:
        if len(r) != RECORD:
            raise ValueError(f"a record of {len(r)} bytes")
    return b"".join(r + b"\r\n" for r in records) if crlf else b"".join(records)


def _transfer_group(
    items: list[Transfer],
    *,
    created: date,
    account: str,
    bank: bytes,
    account_name: str,
    format_b: bool,
    trailer_includes_cancellations: bool,
) -> list[bytes]:
    first = min((t.booked for t in items), default=created)
    last = max((t.booked for t in items), default=created)
    header = (
        b"1"
        + b"01"
        + b"0"
        + wareki(created)
        + wareki(first)
        + wareki(last)
        + bank
        + b"1"
        + n(int(account), 7)
        + c(account_name, 40)
    ).ljust(RECORD, b" ")
    records = [header]
    for i, t in enumerate(items, 1):
        small = t.amount if t.amount < 10**10 else 0  # 金額(1) N10; larger amounts need format B
        if not small and not format_b:
            raise ValueError(f"¥{t.amount:,} does not fit format A's 10 digits: use format_b")
        head = (
            b"2"
            + n(t.inquiry if t.inquiry is not None else i, 6)
            + wareki(t.booked)
            + wareki(t.booked)
            + n(small, 10)
            + n(0, 10)
            + n(t.payer_code, 10)
            + c(t.payer_name, 48)
            + c("", 15)
            + c("", 15)
            + (b"1" if t.cancel else b"0")
        )
        tail = n(t.amount - small, 12) + n(0, 12) + c(t.edi, 20) if format_b else c(t.edi, 20)
        records.append((head + tail).ljust(RECORD, b" "))
    cancelled = [t for t in items if t.cancel]
    counted = items if trailer_includes_cancellations else [t for t in items if not t.cancel]
    trailer = (
        b"8"
        + n(len(counted), 6)
        + n(sum(t.amount for t in counted), 12)
        + n(len(cancelled), 6)
        + n(sum(t.amount for t in cancelled), 12)
    ).ljust(RECORD, b" ")
    records.append(trailer)
    return records


@dataclass(frozen=True)
class StatementLine:
    """One 入出金取引明細 data record to write."""

    booked: date
    amount: int
    payer_name: str = ""
    deposit: bool = True
    inquiry: int | None = None
    edi: str | None = None


def statement(
    lines: Iterable[StatementLine],
    *,
    created: date,
    account: str = "0001234567",
    bank_code: str = "0001",
    branch_code: str = "001",
    crlf: bool = False,
) -> bytes:
    """A 種別 03 file with one account group, byte-exact."""
    items = list(lines)
    header = (
        b"1"
        + b"03"
        + b"0"
        + wareki(created) * 3
        + bank_code.encode()
        + c("ﾐｽﾞﾎ", 15)
        + branch_code.encode()
        + c("ﾎﾝﾃﾝ", 15)
        + b"000"
        + b"1"
        + n(int(account), 10)
        + c("ｻｲｹﾝ", 40)
        + b"1"
        + b"1"
        + n(0, 14)
    ).ljust(RECORD, b" ")
    records = [header]
    for i, line in enumerate(items, 1):
        record = (
            b"2"
            + n(line.inquiry if line.inquiry is not None else i, 8)
            + wareki(line.booked)
            + wareki(line.booked)
            + (b"1" if line.deposit else b"2")
            + b"11"
            + n(line.amount, 12)
            + n(0, 12)
            + b"000000"
            + b"000000"
            + b"0"
            + n(0, 7)
            + n(0, 3)
            + n(0, 10)
            + c(line.payer_name, 48)
            + c("", 15)
            + c("", 15)
            + c("", 20)
            + c(line.edi, 20)
        ).ljust(RECORD, b" ")
        records.append(record)
    deposits = [x for x in items if x.deposit]
    withdrawals = [x for x in items if not x.deposit]
    trailer = (
        b"8"
        + n(len(deposits), 6)
        + n(sum(x.amount for x in deposits), 13)
        + n(len(withdrawals), 6)
        + n(sum(x.amount for x in withdrawals), 13)
        + b"1"
        + n(0, 14)
        + n(len(items), 7)
    ).ljust(RECORD, b" ")
    records.append(trailer)
    end = (b"9" + n(len(records) + 1, 10) + n(1, 5)).ljust(RECORD, b" ")
    records.append(end)
    return _join(records, crlf)
