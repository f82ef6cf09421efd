"""Reconcile incoming payments (入金消込): match, book, reverse, and the unmatched queue.

The reconcile function (S3 files), the API (POST /payments, manual matches) and the local
stack all come through here; the matching itself is the pure ``saiken.domain.payments``.
Every payment is booked in one DynamoDB transaction with the receivables it pays, so a
payment delivered twice is applied once, and a receivable that changed meanwhile (another
payment, an operator) makes the payment be matched again against what is there now.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final, Protocol

from saiken.adapters.payments import AlreadyRecorded, PaymentRepository, ReceivablesChanged
from saiken.adapters.repository import DebtorRepository, ReceivableRepository
from saiken.domain.errors import ConcurrentUpdate, NotFound, NotMatchable
from saiken.domain.models import IngestionRun, IngestionState, Receivable
from saiken.domain.payments import (
    NAME_THRESHOLD,
    Book,
    Entry,
    IncomingPayment,
    Match,
    Matcher,
    PaymentRecord,
    PaymentState,
    Unmatched,
    status_after_payment,
    status_after_reversal,
)
from saiken.domain.status import ReceivableStatus
from saiken.intake.fields import FieldIssue
from saiken.intake.normalize import escape_csv_cell
from saiken.intake.reader import FileError
from saiken.intake.report import ErrorReportWriter
from saiken.payments.fields import validate_payment
from saiken.payments.files import read_payments
from saiken.services.ingest import run_id_for

MAX_ATTEMPTS = 5
MAX_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    """What happened to one incoming payment (the API's and the file report's answer)."""

    payment_id: str
    state: str  # applied | partial | unmatched | reversed | ignored | duplicate
    amount: int
    method: str | None = None
    confidence: float | None = None
    allocations: tuple[dict[str, Any], ...] = ()
    credit: int = 0
    reason: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id,
            "state": self.state,
            "amount": self.amount,
            "method": self.method,
            "confidence": self.confidence,
            "allocations": list(self.allocations),
            "credit": self.credit,
            "reason": self.reason,
            "detail": self.detail,
        }


def outcome_of(record: PaymentRecord, *, duplicate: bool = False) -> Outcome:
    state = record.state.value
    partial = False
    if record.state is PaymentState.APPLIED and record.allocations:
        partial = any(a.balance_after for a in record.allocations)
    if duplicate:
        state = "duplicate"
    elif partial:
        state = "partial"
    return Outcome(
        payment_id=record.payment_id,
        state=state,
        amount=record.amount,
        method=record.method.value if record.method else None,
        confidence=record.confidence,
        allocations=tuple(a.model_dump() for a in record.allocations),
        credit=record.credit,
        reason=record.reason,
        detail=record.detail,
    )


def entry_of(r: Receivable) -> Entry:
    return Entry(
        r.receivable_id,
        r.debtor_id,
        r.balance,
        r.due_date,
        r.virtual_account,
        payable=r.status is not ReceivableStatus.CANCELLED,
    )


@dataclass
class _Ledger:
    """One creditor's book plus the receivables behind it (with their versions, for the writes)."""

    book: Book
    receivables: dict[str, Receivable]

    def refresh(self, receivable: Receivable) -> None:
        self.receivables[receivable.receivable_id] = receivable
        self.book.add(entry_of(receivable))


@dataclass
class ReconcileService:
    payments: PaymentRepository
    receivables: ReceivableRepository
    debtors: DebtorRepository
    region: str
    name_threshold: float = NAME_THRESHOLD
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- reading ------------------------------------------------------------------------
    def load(self, creditor_id: str) -> _Ledger:
        """The creditor's receivables (all but cancelled carry a balance that can be paid) and
        debtor names. Read once per file or API batch (D27)."""
        receivables = {r.receivable_id: r for r in self.receivables.iterate(creditor_id)}
        names = {d.debtor_id: d.name_kana for d in self.debtors.iterate(creditor_id)}
        return _Ledger(Book.of((entry_of(r) for r in receivables.values()), names), receivables)

    def get(self, creditor_id: str, payment_id: str) -> PaymentRecord:
        found = self.payments.get(creditor_id, payment_id)
        if found is None:
            raise NotFound(f"payment {payment_id!r} not found")
        return found

    def unmatched(self, creditor_id: str, limit: int = 100) -> list[PaymentRecord]:
        return self.payments.unmatched(creditor_id, limit)

    # -- taking payments in -------------------------------------------------------------
    def receive(self, creditor_id: str, incoming: Sequence[IncomingPayment], source: str) -> list[Outcome]:
        """Match and book each payment in order; one already recorded is reported, not applied again."""
        known = self.payments.get_many(creditor_id, [p.payment_id for p in incoming])
        ledger: _Ledger | None = None
        outcomes: list[Outcome] = []
        for payment in incoming:
            if payment.payment_id in known:
                outcomes.append(outcome_of(known[payment.payment_id], duplicate=True))
                continue
            if ledger is None:
                ledger = self.load(creditor_id)
            if payment.cancels is not None:
                outcome = self._cancel(creditor_id, payment, ledger, source)
            else:
                outcome = self._apply(creditor_id, payment, ledger, source)
            outcomes.append(outcome)
        return outcomes

    def receive_items(
        self, creditor_id: str, items: Sequence[Mapping[str, Any]], source: str = "api"
    ) -> list[tuple[Outcome | None, list[FieldIssue]]]:
        """API batches: validate each item like a CSV row; take the valid ones; answer per item.
        A payment id repeated in one batch is rejected the second time."""
        if len(items) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} payments per batch")
        checked: list[tuple[IncomingPayment | None, list[FieldIssue]]] = []
        seen: set[str] = set()
        for item in items:
            row, issues = validate_payment(item)
            if row is not None and row.payment_id in seen:
                issues = [FieldIssue("payment_id", "duplicate_payment", "this payment_id appears earlier in the batch")]
                row = None
            if row is not None:
                seen.add(row.payment_id)
            checked.append((row.incoming() if row else None, issues))
        outcomes = iter(self.receive(creditor_id, [p for p, _ in checked if p is not None], source))
        return [(next(outcomes) if p is not None else None, issues) for p, issues in checked]

    def _apply(self, creditor_id: str, payment: IncomingPayment, ledger: _Ledger, source: str) -> Outcome:
        matcher = Matcher(ledger.book, self.name_threshold)
        for _ in range(MAX_ATTEMPTS):
            match = matcher.match(payment)
            record = PaymentRecord.of(creditor_id, payment, match, source=source, at=self.clock())
            try:
                self._book(ledger, payment, record, match)
            except AlreadyRecorded:
                stored = self.payments.get(creditor_id, payment.payment_id)
                if stored is None:  # the write failed for another reason: let the caller retry
                    raise
                return outcome_of(stored, duplicate=True)
            except ReceivablesChanged as changed:
                self._reload(creditor_id, ledger, changed.receivable_ids)
                continue
            return outcome_of(record)
        raise ConcurrentUpdate(f"payment {payment.payment_id!r}: its receivables kept changing; send it again")

    def _book(self, ledger: _Ledger, payment: IncomingPayment, record: PaymentRecord, match: Match) -> None:
        """Write the payment with the receivables it changes; then move the in-memory book."""
        if not match.matched:
            if not self.payments.add(record):
                raise AlreadyRecorded(payment.payment_id)
            return
        changed = []
        for a in match.allocations:
            current = ledger.receivables[a.receivable_id]
            status = status_after_payment(current.status, a.balance_after)
            update: dict[str, Any] = {"balance": a.balance_after, "status": status, "status_reason": "入金"}
            if a.balance_after and (current.acknowledged_on is None or payment.paid_on > current.acknowledged_on):
                update["acknowledged_on"] = payment.paid_on  # 承認: the limitation clock restarts
            changed.append(current.model_copy(update=update))
        self.payments.commit([record], changed, self.region)
        for receivable in changed:
            receivable.version = (receivable.version or 0) + 1
            ledger.refresh(receivable)

    def _reload(self, creditor_id: str, ledger: _Ledger, receivable_ids: list[str]) -> None:
        for receivable in self.receivables.get_many(creditor_id, receivable_ids).values():
            ledger.refresh(receivable)

    # -- cancellations (取消) ------------------------------------------------------------
    def _cancel(self, creditor_id: str, payment: IncomingPayment, ledger: _Ledger, source: str) -> Outcome:
        """Give back exactly what the cancelled payment took, once."""
        for _ in range(MAX_ATTEMPTS):
            original = self.payments.get(creditor_id, payment.cancels or "")
            base = PaymentRecord.of(
                creditor_id, payment, Match(payment.payment_id, payment.amount, None), source=source, at=self.clock()
            )
            if original is None:  # money taken back for a payment never seen: an operator must look
                record = base.model_copy(
                    update={
                        "reason": Unmatched.UNKNOWN_ORIGINAL.value,
                        "detail": f"payment {payment.cancels!r} is not known",
                    }
                )
                if not self.payments.add(record):
                    return outcome_of(self.get(creditor_id, payment.payment_id), duplicate=True)
                return outcome_of(record)
            if original.state in (PaymentState.REVERSED, PaymentState.CANCELLATION):
                # a second cancellation of the same payment: kept for the record, nothing moves
                record = base.model_copy(
                    update={
                        "state": PaymentState.CANCELLATION,
                        "reason": "already_reversed",
                        "detail": f"payment {payment.cancels!r} was reversed by {original.reversed_by!r}",
                    }
                )
                if not self.payments.add(record):
                    return outcome_of(self.get(creditor_id, payment.payment_id), duplicate=True)
                return Outcome(
                    payment.payment_id, "ignored", payment.amount, reason="already_reversed", detail=record.detail
                )
            record = base.model_copy(
                update={"state": PaymentState.CANCELLATION, "debtor_id": original.debtor_id, "allocations": []}
            )
            reversed_original = original.model_copy(
                update={"state": PaymentState.REVERSED, "reversed_by": payment.payment_id}
            )
            restored = []
            for a in original.allocations:
                current = ledger.receivables.get(a.receivable_id) or self.receivables.get(creditor_id, a.receivable_id)
                if current is None:
                    continue
                balance = current.balance + a.amount
                restored.append(
                    current.model_copy(
                        update={
                            "balance": balance,
                            "status": status_after_reversal(current.status, balance, current.amount),
                            "status_reason": "入金取消",
                        }
                    )
                )
            try:
                self.payments.commit([record, reversed_original], restored, self.region)
            except AlreadyRecorded:
                if self.payments.get(creditor_id, payment.payment_id) is not None:
                    return outcome_of(self.get(creditor_id, payment.payment_id), duplicate=True)
                continue  # the original changed (a manual match...): read it again
            except ReceivablesChanged as changed:
                self._reload(creditor_id, ledger, changed.receivable_ids)
                continue
            for receivable in restored:
                receivable.version = (receivable.version or 0) + 1
                ledger.refresh(receivable)
            return Outcome(
                payment.payment_id,
                "reversed",
                payment.amount,
                allocations=tuple(a.model_dump() for a in original.allocations),
                detail=f"reversed payment {original.payment_id!r}",
            )
        raise ConcurrentUpdate(f"cancellation {payment.payment_id!r} kept conflicting; send it again")

    # -- operators ------------------------------------------------------------------------
    def match_manually(self, creditor_id: str, payment_id: str, receivable_id: str) -> Outcome:
        """Apply an unmatched payment to the receivable an operator names (then the debtor's
        other receivables, oldest first, then a credit)."""
        for _ in range(MAX_ATTEMPTS):
            stored = self.get(creditor_id, payment_id)
            if stored.state is not PaymentState.UNMATCHED:
                raise NotMatchable(f"payment {payment_id!r} is {stored.state.value}, not unmatched")
            ledger = self.load(creditor_id)
            if receivable_id not in ledger.receivables:
                raise NotFound(f"receivable {receivable_id!r} not found")
            try:
                match = Matcher(ledger.book, self.name_threshold).manual(stored.incoming(), receivable_id)
            except LookupError as exc:
                raise NotMatchable(str(exc)) from exc
            record = stored.with_match(match).model_copy(update={"reason": None, "detail": None})
            try:
                self._book(ledger, stored.incoming(), record, match)
            except (AlreadyRecorded, ReceivablesChanged):
                continue
            return outcome_of(self.get(creditor_id, payment_id))
        raise ConcurrentUpdate(f"payment {payment_id!r} kept changing; try again")


# --- payment files from S3 -------------------------------------------------------------


class RunStore(Protocol):
    def get(self, creditor_id: str, run_id: str) -> IngestionRun | None: ...
    def save(self, run: IngestionRun) -> None: ...


class FileStore(Protocol):
    def read(self, key: str) -> bytes | None: ...
    def put_report(self, key: str, body: IO[bytes]) -> None: ...


RESULT_HEADER: Final = ("payment_id", "state", "amount", "method", "confidence", "receivables", "credit", "reason")


def payment_report_key(creditor_id: str, file_key: str, suffix: str) -> str:
    prefix = f"incoming/{creditor_id}/payments/"
    name = file_key[len(prefix) :] if file_key.startswith(prefix) else file_key.rsplit("/", 1)[-1]
    return f"reports/{creditor_id}/payments/{name}.{suffix}.csv"


@dataclass
class PaymentFileService:
    """One payments file (Zengin or CSV): read, reconcile, report, record the run.

    The run id is the key + ETag, so the same S3 event twice does nothing the second time; and
    each payment's own id makes even a re-upload under another name apply nothing twice.
    """

    reconcile: ReconcileService
    runs: RunStore
    files: FileStore
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def ingest(self, creditor_id: str, file_key: str, etag: str) -> IngestionRun:
        run_id = run_id_for(file_key, etag, "payments")
        previous = self.runs.get(creditor_id, run_id)
        if previous is not None and previous.state == IngestionState.COMPLETED:
            return previous.model_copy(update={"state": IngestionState.SKIPPED_DUPLICATE})
        run = IngestionRun(
            creditor_id=creditor_id,
            run_id=run_id,
            file_key=file_key,
            started_at=self.clock(),
            report_key=payment_report_key(creditor_id, file_key, "result"),
        )
        self.runs.save(run)
        data = self.files.read(file_key)
        if data is None:
            raise FileNotFoundError(file_key)  # not there yet (eventual listing): Lambda retries
        try:
            parsed = read_payments(data, file_key, reference_year=self.clock().year)
        except FileError as exc:
            failed = run.model_copy(
                update={
                    "state": IngestionState.FAILED,
                    "error_code": exc.code,
                    "error_message": exc.message,
                    "finished_at": self.clock(),
                }
            )
            self.runs.save(failed)
            return failed
        try:
            outcomes = self.reconcile.receive(creditor_id, parsed.payments, source=file_key)
        except Exception:
            self.runs.save(run.model_copy(update={"state": IngestionState.FAILED, "error_code": "internal_error"}))
            raise
        self.files.put_report(run.report_key or "", _results_csv(outcomes))
        errors_key = None
        if parsed.errors:
            errors_key = payment_report_key(creditor_id, file_key, "errors")
            buffer = io.StringIO()
            ErrorReportWriter(buffer).write(parsed.errors)
            self.files.put_report(errors_key, io.BytesIO(buffer.getvalue().encode("utf-8")))
        states = Counter(o.state for o in outcomes)
        done = run.model_copy(
            update={
                "state": IngestionState.COMPLETED,
                "encoding": parsed.encoding,
                "rows": len(parsed.payments) + parsed.rejected,
                "accepted": len(parsed.payments),
                "rejected": parsed.rejected,
                "error_counts": dict(Counter(e.code for e in parsed.errors)),
                "outcomes": dict(states, **({"withdrawals_skipped": parsed.skipped} if parsed.skipped else {})),
                "error_message": f"record errors: {errors_key}" if errors_key else None,
                "finished_at": self.clock(),
            }
        )
        self.runs.save(done)
        return done


def _results_csv(outcomes: Sequence[Outcome]) -> IO[bytes]:
    text = io.StringIO()
    text.write("\ufeff")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(RESULT_HEADER)
    for o in outcomes:
        writer.writerow(
            [
                escape_csv_cell(o.payment_id),
                o.state,
                o.amount,
                o.method or "",
                "" if o.confidence is None else o.confidence,
                " ".join(f"{a['receivable_id']}:{a['amount']}" for a in o.allocations),
                o.credit,
                o.reason or "",
            ]
        )
    return io.BytesIO(text.getvalue().encode("utf-8"))
