"""Reconcile incoming payments (入金消込): match, book, reverse, and the unmatched queue.

The reconcile function (S3 files), the API (POST /payments, manual matches) and the local
stack all come through here; the matching itself is the pure ``saiken.domain.payments``.
A payment is keyed by its source id and recorded on each receivable it pays in that
receivable's own conditional write, so a payment delivered twice is applied once, and a
receivable that changed meanwhile (another payment, an operator) is read again, never
overwritten.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final, Protocol

from saiken.adapters.payments import AlreadyRecorded, PaymentRepository
from saiken.adapters.repository import BookRow, DebtorRepository, ReceivableRepository
from saiken.domain.errors import ConcurrentUpdate, NotFound, NotMatchable
from saiken.domain.models import IngestionRun, IngestionState, Receivable
from saiken.domain.payments import (
    NAME_THRESHOLD,
    AllocationView,
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
from saiken.intake.report import ErrorReportWriter, csv_report
from saiken.payments.fields import validate_payment
from saiken.payments.files import read_payments
from saiken.services.ingest import RunStore, run_id_for

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


def entry_of(r: Receivable | BookRow) -> Entry:
    return Entry(
        r.receivable_id,
        r.debtor_id,
        r.balance,
        r.due_date,
        r.virtual_account,
        payable=r.status is not ReceivableStatus.CANCELLED,
    )


@dataclass
class ReconcileService:
    """Booking a payment (D28): the payment item is claimed first (state ``booking``, its planned
    allocations, under a condition on its id); then each receivable it pays is written in one
    conditional write (version check) that lowers the balance, sets the status and records the
    payment's id and yen on the receivable itself; then the payment becomes ``applied``. Every
    step is idempotent, so a retry after a crash anywhere finishes the payment and never applies
    it twice: a receivable that already carries the payment id is not paid again."""

    payments: PaymentRepository
    receivables: ReceivableRepository
    debtors: DebtorRepository
    name_threshold: float = NAME_THRESHOLD
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- reading ------------------------------------------------------------------------
    def load(self, creditor_id: str) -> Book:
        """The creditor's receivables (projected to what matching needs) and debtors' kana names,
        read once per file or API batch (D27)."""
        rows = self.receivables.book_rows(creditor_id)
        return Book.of((entry_of(r) for r in rows), self.debtors.kana_names(creditor_id))

    def get(self, creditor_id: str, payment_id: str) -> PaymentRecord:
        found = self.payments.get(creditor_id, payment_id)
        if found is None:
            raise NotFound(f"payment {payment_id!r} not found")
        return found

    def unmatched(self, creditor_id: str, limit: int = 100) -> list[PaymentRecord]:
        return self.payments.unmatched(creditor_id, limit)

    # -- taking payments in -------------------------------------------------------------
    def receive(self, creditor_id: str, incoming: Sequence[IncomingPayment], source: str) -> list[Outcome]:
        """Match and book each payment in order; one already recorded is reported, not applied
        again (one left half-booked by a crash is finished)."""
        known = self.payments.get_many(creditor_id, [p.payment_id for p in incoming])
        book: Book | None = None
        outcomes: list[Outcome] = []
        for payment in incoming:
            stored = known.get(payment.payment_id)
            if stored is not None and stored.state is not PaymentState.BOOKING:
                outcomes.append(outcome_of(stored, duplicate=True))
                continue
            if book is None:
                book = self.load(creditor_id)
            if stored is not None:
                outcome = self._finish(creditor_id, stored, book)
            elif payment.cancels is not None:
                outcome = self._cancel(creditor_id, payment, book, source)
            else:
                outcome = self._apply(creditor_id, payment, book, source)
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

    def _apply(self, creditor_id: str, payment: IncomingPayment, book: Book, source: str) -> Outcome:
        match = Matcher(book, self.name_threshold).match(payment)
        record = PaymentRecord.of(creditor_id, payment, match, source=source, at=self.clock())
        if match.matched:
            record = record.model_copy(update={"state": PaymentState.BOOKING})
        if not self.payments.add(record):  # someone recorded this id first
            return self._already(creditor_id, payment.payment_id, book)
        if not match.matched:
            return outcome_of(record)
        return self._finish(creditor_id, record.model_copy(update={"version": 1}), book)

    def _already(self, creditor_id: str, payment_id: str, book: Book) -> Outcome:
        stored = self.get(creditor_id, payment_id)
        if stored.state is PaymentState.BOOKING:
            return self._finish(creditor_id, stored, book)
        return outcome_of(stored, duplicate=True)

    def _finish(self, creditor_id: str, record: PaymentRecord, book: Book) -> Outcome:
        """Write the receivables a booked payment pays (skipping those that already carry it),
        then mark the payment applied."""
        for _ in range(MAX_ATTEMPTS):
            try:
                allocations = self._write_allocations(creditor_id, record, book)
            except ConcurrentUpdate:
                continue  # a receivable changed between our read and our write: read again
            applied = sum(a.amount for a in allocations)
            done = record.model_copy(
                update={"state": PaymentState.APPLIED, "allocations": allocations, "credit": record.amount - applied}
            )
            try:
                return outcome_of(self.payments.save(done))
            except AlreadyRecorded:  # finished by a concurrent retry, or changed: look again
                stored = self.get(creditor_id, record.payment_id)
                if stored.state is not PaymentState.BOOKING:
                    return outcome_of(stored, duplicate=True)
                record = stored
        raise ConcurrentUpdate(f"payment {record.payment_id!r}: its receivables kept changing; send it again")

    def _write_allocations(self, creditor_id: str, record: PaymentRecord, book: Book) -> list[AllocationView]:
        """Each planned allocation on a freshly read receivable; if balances shrank meanwhile (a
        concurrent payment), the rest goes to the debtor's open receivables, oldest first, then to
        credit. A receivable that already carries this payment from an interrupted try is counted,
        not paid again."""
        pid = record.payment_id
        written: dict[str, int] = {}
        left = record.amount
        planned = [(a.receivable_id, a.amount) for a in record.allocations]
        spread = False
        while planned and left > 0:
            rid, wanted = planned.pop(0)
            current = self.receivables.get(creditor_id, rid)
            if current is None:
                continue
            if pid in current.payments and rid not in written:  # an earlier, interrupted try wrote it
                written[rid] = current.payments[pid]
                left -= written[rid]
                book.add(entry_of(current))
            else:
                payable = current.status is not ReceivableStatus.CANCELLED
                take = min(wanted, current.balance if payable else 0, left)
                if take > 0:
                    current = self.receivables.save(self._paid(current, pid, take, record.paid_on))
                    written[rid] = written.get(rid, 0) + take
                    left -= take
                book.add(entry_of(current))
            if not planned and left > 0 and record.debtor_id and not spread:
                spread = True  # balances shrank under us: the debtor's receivables, oldest first
                more, _ = book.allocate(record.debtor_id, left)
                planned = [(a.receivable_id, a.amount) for a in more]
        balances = {rid: book.entries[rid].balance for rid in written if rid in book.entries}
        return [
            AllocationView(receivable_id=rid, amount=amount, balance_after=balances.get(rid))
            for rid, amount in written.items()
        ]

    @staticmethod
    def _paid(current: Receivable, payment_id: str, amount: int, paid_on: Any) -> Receivable:
        balance = current.balance - amount
        update: dict[str, Any] = {
            "balance": balance,
            "status": status_after_payment(current.status, balance),
            "status_reason": "入金",
            "payments": {**current.payments, payment_id: current.payments.get(payment_id, 0) + amount},
        }
        if balance and (current.acknowledged_on is None or paid_on > current.acknowledged_on):
            update["acknowledged_on"] = paid_on  # 承認 (民法152条): the limitation clock restarts
        return current.model_copy(update=update)

    # -- cancellations (取消) ------------------------------------------------------------
    def _cancel(self, creditor_id: str, payment: IncomingPayment, book: Book, source: str) -> Outcome:
        """Give back exactly what the cancelled payment took, once."""
        original = self.payments.get(creditor_id, payment.cancels or "")
        nothing = Match(payment.payment_id, payment.amount, None)
        base = PaymentRecord.of(creditor_id, payment, nothing, source=source, at=self.clock())
        if original is None:  # money taken back for a payment never seen: an operator must look
            record = base.model_copy(
                update={
                    "reason": Unmatched.UNKNOWN_ORIGINAL.value,
                    "detail": f"payment {payment.cancels!r} is not known",
                }
            )
            if not self.payments.add(record):
                return self._already(creditor_id, payment.payment_id, book)
            return outcome_of(record)
        if original.state is PaymentState.BOOKING:
            self._finish(creditor_id, original, book)
            original = self.get(creditor_id, original.payment_id)
        record = base.model_copy(update={"state": PaymentState.CANCELLATION, "debtor_id": original.debtor_id})
        if original.state in (PaymentState.REVERSED, PaymentState.CANCELLATION):
            # a second cancellation of the same payment: kept for the record, nothing moves
            record = record.model_copy(
                update={
                    "reason": "already_reversed",
                    "detail": f"payment {payment.cancels!r} was reversed by {original.reversed_by!r}",
                }
            )
            if not self.payments.add(record):
                return self._already(creditor_id, payment.payment_id, book)
            return Outcome(
                payment.payment_id, "ignored", payment.amount, reason="already_reversed", detail=record.detail
            )
        taken_before = not self.payments.add(record)  # then finish it, if a crash stopped it half-way
        if taken_before and self.get(creditor_id, original.payment_id).state is PaymentState.REVERSED:
            return self._already(creditor_id, payment.payment_id, book)
        for a in original.allocations:
            self._give_back(creditor_id, original.payment_id, a.receivable_id, book)
        for _ in range(MAX_ATTEMPTS):
            try:
                self.payments.save(
                    original.model_copy(update={"state": PaymentState.REVERSED, "reversed_by": payment.payment_id})
                )
                break
            except AlreadyRecorded:
                original = self.get(creditor_id, original.payment_id)
                if original.state is PaymentState.REVERSED:
                    break
        return Outcome(
            payment.payment_id,
            "reversed",
            payment.amount,
            allocations=tuple(a.model_dump() for a in original.allocations),
            detail=f"reversed payment {original.payment_id!r}",
        )

    def _give_back(self, creditor_id: str, payment_id: str, receivable_id: str, book: Book) -> None:
        """Undo one allocation, if the receivable still carries it (idempotent)."""
        for _ in range(MAX_ATTEMPTS):
            current = self.receivables.get(creditor_id, receivable_id)
            if current is None or payment_id not in current.payments:
                return
            payments = dict(current.payments)
            amount = payments.pop(payment_id)
            balance = current.balance + amount
            restored = current.model_copy(
                update={
                    "balance": balance,
                    "payments": payments,
                    "status": status_after_reversal(current.status, balance, current.amount),
                    "status_reason": "入金取消",
                }
            )
            try:
                book.add(entry_of(self.receivables.save(restored)))
                return
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"receivable {receivable_id!r} kept changing; send the cancellation again")

    # -- operators ------------------------------------------------------------------------
    def match_manually(self, creditor_id: str, payment_id: str, receivable_id: str) -> Outcome:
        """Apply an unmatched payment to the receivable an operator names (then the debtor's
        other receivables, oldest first, then a credit)."""
        stored = self.get(creditor_id, payment_id)
        if stored.state is not PaymentState.UNMATCHED:
            raise NotMatchable(f"payment {payment_id!r} is {stored.state.value}, not unmatched")
        target = self.receivables.get(creditor_id, receivable_id)
        if target is None:
            raise NotFound(f"receivable {receivable_id!r} not found")
        # only this debtor's receivables matter here: a small book, not the creditor's whole one
        owed = self.receivables.list_for_debtor(creditor_id, target.debtor_id)
        book = Book.of((entry_of(r) for r in owed), {})
        try:
            match = Matcher(book, self.name_threshold).manual(stored.incoming(), receivable_id)
        except LookupError as exc:
            raise NotMatchable(str(exc)) from exc
        claim = stored.with_match(match).model_copy(
            update={"state": PaymentState.BOOKING, "reason": None, "detail": None}
        )
        try:
            claimed = self.payments.save(claim)  # out of the unmatched queue, under its version
        except AlreadyRecorded as exc:
            raise ConcurrentUpdate(f"payment {payment_id!r} changed meanwhile; look again") from exc
        return self._finish(creditor_id, claimed, book)


# --- payment files from S3 -------------------------------------------------------------


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
    return csv_report(
        RESULT_HEADER,
        (
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
            for o in outcomes
        ),
    )
