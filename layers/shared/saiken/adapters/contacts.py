"""The contact history (応対履歴) and the per-debtor daily cap, in the contacts table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import size

from saiken.adapters.repository import is_conditional_failure
from saiken.adapters.tables import ContactItem
from saiken.domain.models import Contact, TimelineEvent

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
        return self.timeline_for_receivable(creditor_id, receivable_id)[0]

    def for_debtor(self, creditor_id: str, debtor_id: str) -> list[Contact]:
        items = ContactItem.query(_debtor_key(creditor_id, debtor_id), ContactItem.sk.startswith("c#"))
        return [_contact(i) for i in items]

    # -- inbound outcomes and case changes (the same table, sk "e#...") -----------------------
    def record_event(self, e: TimelineEvent) -> bool:
        """Once per event id: a redelivered provider event is not recorded twice (False then)."""
        item = ContactItem(
            _debtor_key(e.creditor_id, e.debtor_id),
            f"e#{e.event_id}",  # the id alone: a redelivery at another moment is still the same entry
            receivable_key=f"{e.creditor_id}#{e.receivable_id}" if e.receivable_id else None,
            creditor_id=e.creditor_id,
            receivable_id=e.receivable_id,
            reminder_id=e.event_id,
            channel=e.channel,
            outcome=e.kind,
            reason=e.reason,
            detail={
                "actor": e.actor,
                "note": e.note,
                "at": e.at.isoformat(),
                **({"data": e.detail} if e.detail else {}),
            },
        )
        try:
            item.save(condition=ContactItem.sk.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def timeline_for_receivable(
        self, creditor_id: str, receivable_id: str
    ) -> tuple[list[Contact], list[TimelineEvent]]:
        """The receivable's reminders and its inbound outcomes / case changes, each oldest first."""
        contacts: list[Contact] = []
        events: list[TimelineEvent] = []
        for item in ContactItem.by_receivable.query(f"{creditor_id}#{receivable_id}"):
            if item.sk.startswith("e#"):
                events.append(_event(item))
            elif item.sk.startswith("c#"):
                contacts.append(_contact(item))
        contacts.sort(key=lambda c: (c.slot, c.channel))
        events.sort(key=lambda e: e.at)
        return contacts, events

    def timeline_for_debtor(self, creditor_id: str, debtor_id: str) -> tuple[list[Contact], list[TimelineEvent]]:
        key = _debtor_key(creditor_id, debtor_id)
        contacts = [_contact(i) for i in ContactItem.query(key, ContactItem.sk.startswith("c#"))]
        events = [_event(i) for i in ContactItem.query(key, ContactItem.sk.startswith("e#"))]
        return contacts, events

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


def _event(item: ContactItem) -> TimelineEvent:
    detail = dict(item.detail or {})
    debtor_id = item.debtor_key.split("#", 1)[1]
    return TimelineEvent(
        creditor_id=item.creditor_id or "",
        debtor_id=debtor_id,
        receivable_id=item.receivable_id,
        event_id=item.reminder_id or "",
        at=detail["at"],
        kind=item.outcome or "",
        channel=item.channel,
        actor=detail.get("actor") or "system",
        reason=item.reason,
        note=detail.get("note"),
        detail=detail.get("data") or {},
    )
