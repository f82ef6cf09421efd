"""The contact history (応対履歴) and the per-debtor daily cap, in the contacts table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from saiken.adapters.repository import is_conditional_failure
from saiken.adapters.tables import ContactItem
from saiken.domain.models import Contact

_DETAIL_FIELDS = (
    "debtor_id",
    "slot",
    "at",
    "planned_at",
    "segment",
    "step",
    "offset",
    "template",
    "rules_version",
    "to",
    "subject",
    "body",
    "provider_id",
    "sms_parts",
)


def _debtor_key(creditor_id: str, debtor_id: str) -> str:
    return f"{creditor_id}#{debtor_id}"


class ContactRepository:
    def record(self, c: Contact) -> None:
        """Idempotent: one item per (slot, reminder); a redelivery overwrites it with the same outcome."""
        _item(c).save()

    def record_many(self, contacts: list[Contact]) -> None:
        """Several at once (BatchWriteItem, 25 a request, unprocessed items retried by pynamodb)."""
        with ContactItem.batch_write() as batch:
            for c in contacts:
                batch.save(_item(c))

    def for_receivable(self, creditor_id: str, receivable_id: str) -> list[Contact]:
        items = ContactItem.by_receivable.query(f"{creditor_id}#{receivable_id}")
        return sorted((_contact(i) for i in items), key=lambda c: (c.slot, c.channel))

    def for_debtor(self, creditor_id: str, debtor_id: str) -> list[Contact]:
        items = ContactItem.query(_debtor_key(creditor_id, debtor_id), ContactItem.sk.startswith("c#"))
        return [_contact(i) for i in items]

    # -- the daily cap -----------------------------------------------------------------
    def reserve(self, creditor_id: str, debtor_id: str, day: date, reminder_id: str, cap: int) -> bool:
        """Count this reminder against the debtor's day, atomically, if the day has room.
        Counting the same reminder twice is a no-op, so a redelivered message is not capped
        by its own first attempt."""
        item = ContactItem(_debtor_key(creditor_id, debtor_id), f"cap#{day.isoformat()}")
        expires = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=3)
        try:
            item.update(
                actions=[ContactItem.reminders.add({reminder_id}), ContactItem.expires.set(expires)],
                condition=(
                    ContactItem.reminders.does_not_exist()
                    | (ContactItem.reminders.contains(reminder_id))
                    | (size(ContactItem.reminders) < cap)  # type: ignore[no-untyped-call]
                ),
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def release(self, creditor_id: str, debtor_id: str, day: date, reminder_id: str) -> None:
        """Give the slot back (the provider did not take the message)."""
        ContactItem(_debtor_key(creditor_id, debtor_id), f"cap#{day.isoformat()}").update(
            actions=[ContactItem.reminders.delete({reminder_id})]
        )

    def counted(self, creditor_id: str, debtor_id: str, day: date) -> int:
        try:
            item = ContactItem.get(_debtor_key(creditor_id, debtor_id), f"cap#{day.isoformat()}", consistent_read=True)
        except ContactItem.DoesNotExist:
            return 0
        return len(item.reminders or ())


def _item(c: Contact) -> ContactItem:
    return ContactItem(
        _debtor_key(c.creditor_id, c.debtor_id),
        f"c#{c.slot.isoformat()}#{c.reminder_id}",
        receivable_key=f"{c.creditor_id}#{c.receivable_id}",
        creditor_id=c.creditor_id,
        receivable_id=c.receivable_id,
        reminder_id=c.reminder_id,
        channel=c.channel,
        outcome=c.outcome,
        reason=c.reason,
        detail=c.model_dump(mode="json", include=set(_DETAIL_FIELDS)),
    )


def _contact(item: ContactItem) -> Contact:
    detail = dict(item.detail or {})
    return Contact(
        creditor_id=item.creditor_id or "",
        receivable_id=item.receivable_id or "",
        reminder_id=item.reminder_id or "",
        channel=item.channel or "",
        outcome=item.outcome or "",
        reason=item.reason,
        **detail,
    )
