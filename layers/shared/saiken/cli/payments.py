"""`saiken match` (offline, no AWS) and the shapes `saiken payments ...` prints."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from saiken.domain.payments import (
    Book,
    Entry,
    IncomingPayment,
    Match,
    Matcher,
    Reconciliation,
    Reversal,
)
from saiken.intake.reader import AcceptedRow, ReceivableFileReader, RowError
from saiken.payments.files import read_payments


def load_book(path: Path) -> tuple[Book, list[RowError]]:
    """A receivables file (the intake format: CSV/TSV, CP932 or UTF-8, Japanese headers) as a book."""
    entries: list[Entry] = []
    names: dict[str, str | None] = {}
    errors: list[RowError] = []
    with path.open("rb") as f:
        for row in ReceivableFileReader(iter(lambda: f.read(1 << 16), b""), filename=path.name):
            if isinstance(row, AcceptedRow):
                r = row.data
                entries.append(Entry(r.receivable_id, r.debtor_id, r.amount, r.due_date, r.virtual_account))
                names.setdefault(r.debtor_id, r.debtor_name_kana)
            else:
                errors.extend(row.errors)
    return Book.of(entries, names), errors


def match_files(
    receivables: Path, payments: Path, *, threshold: float
) -> tuple[dict[str, list[dict[str, Any]]], list[RowError], list[RowError]]:
    book, receivable_errors = load_book(receivables)
    parsed = read_payments(payments.read_bytes(), payments.name)
    run = Reconciliation(Matcher(book, threshold))
    taken = [(p, run.take(p)) for p in parsed.payments]
    return report(taken), receivable_errors, parsed.errors


def report(taken: Iterable[tuple[IncomingPayment, Match | Reversal]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "matched": [],
        "partial": [],
        "unmatched": [],
        "reversed": [],
        "credits": [],
    }
    for payment, result in taken:
        if isinstance(result, Reversal):
            if result.done:
                out["reversed"].append(
                    {"payment_id": result.payment_id, "cancels": result.cancels, "amount": result.amount}
                )
            elif result.reason == "unknown_original":
                out["unmatched"].append(
                    {"payment_id": payment.payment_id, "amount": payment.amount, "reason": result.reason}
                )
            continue
        if not result.matched:
            out["unmatched"].append({"payment_id": result.payment_id, "amount": result.amount, "reason": result.reason})
            continue
        assert result.method is not None
        for a in result.allocations:
            entry = {
                "payment_id": result.payment_id,
                "receivable_id": a.receivable_id,
                "amount": a.amount,
                "method": result.method.value,
                "confidence": result.confidence,
            }
            (out["matched"] if a.settles else out["partial"]).append(entry)
        if result.credit:
            out["credits"].append(
                {"payment_id": result.payment_id, "debtor_id": result.debtor_id, "amount": result.credit}
            )
    return out
