"""Payments in DynamoDB, and the one transaction that books a payment on its receivables.

A payment item and the receivables it changes are written together (TransactWriteItems):
the payment's own condition (a new id must not exist, a stored one must still have the
version read) makes a second delivery a no-op, and each receivable's version check makes a
concurrent change (another payment, an operator) fail the whole write instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from saiken.adapters.repository import _receivable_to_item, is_conditional_failure
from saiken.adapters.tables import PaymentItem
from saiken.domain.models import Receivable
from saiken.domain.payments import PaymentRecord, PaymentState

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
_KEYS = {"creditor_id", "payment_id", "version"}


class AlreadyRecorded(Exception):
    """The payment was recorded (or changed) by someone else first: read it again."""


class ReceivablesChanged(Exception):
    """A receivable changed since it was read; nothing was written."""

    def __init__(self, receivable_ids: list[str]) -> None:
        super().__init__(f"changed concurrently: {', '.join(receivable_ids)}")
        self.receivable_ids = receivable_ids


def _to_item(record: PaymentRecord) -> PaymentItem:
    item = PaymentItem(
        record.creditor_id,
        record.payment_id,
        unmatched_creditor=record.creditor_id if record.state is PaymentState.UNMATCHED else None,
        paid_on=record.paid_on.isoformat(),
        amount=record.amount,
        state=record.state.value,
        record=record.model_dump(mode="json", exclude=_KEYS),
    )
    if record.version is not None:
        item.version = record.version
    return item


def _from_item(item: PaymentItem) -> PaymentRecord:
    return PaymentRecord.model_validate(
        {**item.record, "creditor_id": item.creditor_id, "payment_id": item.payment_id, "version": item.version}
    )


@lru_cache(maxsize=4)
def _connection(region: str) -> Connection:
    return Connection(region=region)


class PaymentRepository:
    def get(self, creditor_id: str, payment_id: str) -> PaymentRecord | None:
        try:
            return _from_item(PaymentItem.get(creditor_id, payment_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_many(self, creditor_id: str, payment_ids: Iterable[str]) -> dict[str, PaymentRecord]:
        wanted = list(dict.fromkeys(payment_ids))
        found: dict[str, PaymentRecord] = {}
        for start in range(0, len(wanted), 100):
            keys = [(creditor_id, pid) for pid in wanted[start : start + 100]]
            for item in PaymentItem.batch_get(keys, consistent_read=True):
                found[item.payment_id] = _from_item(item)
        return found

    def unmatched(self, creditor_id: str, limit: int = 100) -> list[PaymentRecord]:
        """The unmatched queue, oldest payment first."""
        return [_from_item(i) for i in PaymentItem.unmatched.query(creditor_id, limit=limit)]

    def iterate(self, creditor_id: str) -> Iterator[PaymentRecord]:
        for item in PaymentItem.query(creditor_id):
            yield _from_item(item)

    def add(self, record: PaymentRecord) -> bool:
        """Store a payment that touches no receivable (unmatched); False if the id is known."""
        try:
            _to_item(record).save()
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def commit(self, payments: Sequence[PaymentRecord], receivables: Sequence[Receivable], region: str) -> None:
        """Write payments and receivables in one transaction, each under its own condition."""
        if len(payments) + len(receivables) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a payment may change at most {MAX_TRANSACTION_ITEMS - 2} receivables at once")
        now = datetime.now(UTC)
        try:
            with TransactWrite(connection=_connection(region)) as tx:
                for record in payments:
                    tx.save(_to_item(record))
                for receivable in receivables:
                    tx.save(_receivable_to_item(receivable.model_copy(update={"updated_at": now})))
        except TransactWriteError as exc:
            failed = _failed_positions(exc)
            if any(i < len(payments) for i in failed) or not failed:
                raise AlreadyRecorded(str(exc)) from exc
            raise ReceivablesChanged([receivables[i - len(payments)].receivable_id for i in failed]) from exc


def _failed_positions(exc: TransactWriteError) -> list[int]:
    reasons: list[Any] = getattr(exc, "cancellation_reasons", None) or []
    return [i for i, r in enumerate(reasons) if r is not None and getattr(r, "code", None) == "ConditionalCheckFailed"]
