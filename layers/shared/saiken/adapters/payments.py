"""Payments in DynamoDB: one item per source payment id, written under a condition (a new id
must not exist; a stored one must still have the version read), and the unmatched queue (a
sparse index). The money itself is booked on the receivables (services.reconcile, D28)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pynamodb.exceptions import DoesNotExist, PutError

from saiken.adapters.repository import is_conditional_failure
from saiken.adapters.tables import PaymentItem
from saiken.domain.payments import PaymentRecord, PaymentState

_KEYS = {"creditor_id", "payment_id", "version"}


class AlreadyRecorded(Exception):
    """The payment was recorded (or changed) by someone else first: read it again."""


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
        """Store a new payment (its id must not exist yet); False if the id is known."""
        try:
            _to_item(record).save()
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def save(self, record: PaymentRecord) -> PaymentRecord:
        """Update a stored payment under its version; AlreadyRecorded if it changed meanwhile."""
        item = _to_item(record)
        try:
            item.save()
        except PutError as exc:
            if is_conditional_failure(exc):
                raise AlreadyRecorded(record.payment_id) from exc
            raise
        return record.model_copy(update={"version": item.version})
