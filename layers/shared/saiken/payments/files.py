"""Read a payments file (Zengin 01/03 or CSV/TSV) into payments and per-record errors.

Whole-file problems raise ``FileError`` (nothing in the file is used); a bad record is
reported with its row, field and reason, and the good ones go on.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Final

from saiken.domain.payments import IncomingPayment
from saiken.intake.decode import AutoDecoder, UndecodableError, iter_lines
from saiken.intake.reader import FileError, RowError, _header_key, delimiter_for
from saiken.payments.fields import PAYMENT_HEADERS, REQUIRED, validate_payment
from saiken.payments.zengin import ZenginFileError, looks_like_zengin, read_zengin

ZENGIN_SUFFIXES: Final = (".txt", ".dat", ".TXT", ".DAT")
CSV_SUFFIXES: Final = (".csv", ".tsv", ".CSV", ".TSV")
PAYMENT_SUFFIXES: Final = ZENGIN_SUFFIXES + CSV_SUFFIXES
_ALIASES: Final = {_header_key(alias): name for name, aliases in PAYMENT_HEADERS.items() for alias in (name, *aliases)}


@dataclass
class PaymentFile:
    format: str  # zengin-01 | zengin-03 | csv
    payments: list[IncomingPayment] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    records: int = 0
    encoding: str | None = None
    skipped: int = 0  # 入出金取引明細 withdrawals: not payments

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})


def read_payments(data: bytes, filename: str, *, reference_year: int | None = None) -> PaymentFile:
    """Zengin when the name says .txt/.dat, or (any other name but .csv/.tsv) the bytes start like a
    Zengin header; CSV otherwise."""
    sniff = not filename.endswith(CSV_SUFFIXES) and looks_like_zengin(data)
    if filename.endswith(ZENGIN_SUFFIXES) or sniff:
        try:
            parsed = read_zengin(data, reference_year=reference_year, file_id=filename)
        except ZenginFileError as exc:
            raise FileError(exc.code, f"Zengin file refused: {exc.message}") from exc
        errors = [RowError(e.record, e.record, e.field, e.code, e.message, e.value) for e in parsed.errors]
        return PaymentFile(
            f"zengin-{parsed.kind}", parsed.payments, errors, parsed.records, "cp932", skipped=parsed.withdrawals
        )
    return _read_csv(data, filename)


def _read_csv(data: bytes, filename: str) -> PaymentFile:
    decoder = AutoDecoder()
    result = PaymentFile("csv")
    reader = csv.reader(iter_lines([data], decoder), delimiter=delimiter_for(filename))
    columns: dict[str, int] | None = None
    seen: set[str] = set()
    last_line = 0
    try:
        for record in reader:
            line, last_line = last_line + 1, reader.line_num
            if not "".join(record).strip():
                continue
            if columns is None:
                columns = _columns(record)
                continue
            result.records += 1
            row = result.records
            values = {name: record[i] for name, i in columns.items() if i < len(record)}
            payment, issues = validate_payment(values)
            errors = [RowError(row, line, i.field, i.code, i.message, values.get(i.field or "")) for i in issues]
            if payment is not None and payment.payment_id in seen:
                errors.append(
                    RowError(
                        row,
                        line,
                        "payment_id",
                        "duplicate_payment",
                        f"payment {payment.payment_id!r} already appears earlier in this file",
                        payment.payment_id,
                    )
                )
            if payment is not None:
                seen.add(payment.payment_id)
            if errors or payment is None:
                result.errors.extend(errors)
            else:
                result.payments.append(payment.incoming())
    except UndecodableError as exc:
        raise FileError("unreadable", str(exc)) from exc
    except csv.Error as exc:
        raise FileError("unreadable", f"line {reader.line_num}: not CSV: {exc}") from exc
    if columns is None:
        raise FileError("missing_column", "the file is empty: no header row")
    result.encoding = decoder.encoding
    return result


def _columns(headers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _ALIASES.get(_header_key(header))
        if name is None:
            continue
        if name in found:
            raise FileError(
                "duplicate_column", f"columns {headers[found[name]]!r} and {header!r} both map to field {name!r}"
            )
        found[name] = index
    missing = [f for f in PAYMENT_HEADERS if f in REQUIRED and f not in found]
    if missing:
        raise FileError(
            "missing_column",
            "required column(s) missing: "
            + "; ".join(f"{f} (accepted headers: {', '.join((f, *PAYMENT_HEADERS[f]))})" for f in missing),
        )
    return found
